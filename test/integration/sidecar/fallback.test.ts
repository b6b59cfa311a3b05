/**
 * Fallbacks and retries before the first byte, and the circuit breaker: 500 / 429 / timeout / connection
 * refused move to the next backend; a failure the route does not list is passed through; an open circuit
 * skips a dead backend without waiting for its timeout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import type { FailureKind, ModelRouteSpec } from '../../../core/api/types.js';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { refusedURL, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { backend, client, publish, redisClient, route, startTestSidecar, tableOf } from './support.js';

let redis: RedisServer;
let r: Redis;
let a: FakeUpstream;
let b: FakeUpstream;
let sidecar: Sidecar;
let openai: OpenAI;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  [a, b] = await Promise.all([startFakeUpstream({ name: 'a' }), startFakeUpstream({ name: 'b' })]);
  sidecar = await startTestSidecar(redis.url, { breaker: { failureThreshold: 2, cooldownMs: 60_000 } });
  openai = client(sidecar);
});

beforeEach(() => {
  a.reset();
  b.reset();
});

afterAll(async () => {
  await sidecar?.close();
  await Promise.all([a?.close(), b?.close()]);
  r?.disconnect();
  await redis?.stop();
});

/** Publishes a fresh route a -> b (its own circuits) and waits until the sidecar uses it; returns its alias. */
async function routeAB(
  opts: { on?: FailureKind[]; aURL?: string; firstByteMs?: number; retry?: ModelRouteSpec['retry'] } = {},
): Promise<string> {
  const alias = `alias-${++n}`;
  const t = tableOf(
    route(`r${n}`, {
      match: { models: [alias] },
      backends: [
        backend('a', opts.aURL ?? a.baseURL, { timeouts: { firstByteMs: opts.firstByteMs ?? 5000, connectMs: 1000 } }),
        backend('b', b.baseURL),
      ],
      strategy: { fixed: { backend: 'a' } },
      fallbacks: [{ backend: 'a', to: ['b'], ...(opts.on && { on: opts.on }) }],
      ...(opts.retry && { retry: opts.retry }),
    }),
  );
  await publish(r, t);
  await waitFor(() => sidecar.store.current().some((x) => x.tableVersion === t.tableVersion), {
    timeoutMs: 5000,
    message: `route ${alias}`,
  });
  return alias;
}

const ask = (model: string) =>
  openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

describe('fallback before the first byte', () => {
  test.each([
    ['500', { status: 500 }],
    ['429', { status: 429 }],
    ['200 with an error body', { errorBody: true }],
    ['200 with malformed JSON', { malformedJson: true }],
  ])('%s from the first backend: the second answers', async (_name, fault) => {
    const alias = await routeAB();
    a.enqueue(fault);
    const { data, response } = await ask(alias);
    expect(data.choices[0]!.message.content).toBe('reply from b to b-model');
    expect(response.headers.get('x-modelroute-backend')).toBe('b');
    expect(a.requests).toHaveLength(1);
  });

  test('first-byte timeout: the second answers and the slow request is cancelled', async () => {
    const alias = await routeAB({ firstByteMs: 200 });
    a.enqueue({ delayMs: 3000 });
    const { data } = await ask(alias);
    expect(data.choices[0]!.message.content).toBe('reply from b to b-model');
    await a.requests[0]!.clientClosed;
  });

  test('connection refused: the second answers', async () => {
    const alias = await routeAB({ aURL: await refusedURL() });
    const { response } = await ask(alias);
    expect(response.headers.get('x-modelroute-backend')).toBe('b');
  });

  test('a failure the route does not list is passed through as is', async () => {
    const alias = await routeAB({ on: ['429'] });
    a.enqueue({ status: 503 });
    const err = await ask(alias).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('fake_503');
    expect(b.requests).toHaveLength(0);
  });

  test('retry.attempts retries the same backend before falling back', async () => {
    const alias = await routeAB({ retry: { attempts: 2, backoffMs: 10 } });
    a.enqueue({ status: 502 });
    const { response } = await ask(alias);
    expect(response.headers.get('x-modelroute-backend')).toBe('a');
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(0);
  });

  test('when every backend fails the last upstream answer reaches the client', async () => {
    const alias = await routeAB();
    a.enqueue({ status: 500 });
    b.enqueue({ status: 503, retryAfter: '1' });
    const err = await ask(alias).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-modelroute-backend')).toBe('b');
  });
});

describe('circuit breaker', () => {
  test('an open circuit skips a dead backend without waiting for its timeout', async () => {
    const alias = await routeAB({ firstByteMs: 400 });
    a.setDefault({ hang: true });
    for (let i = 0; i < 2; i++) await ask(alias); // two timeouts open the circuit (threshold 2)
    expect(a.requests).toHaveLength(2);
    const t0 = performance.now();
    const { response } = await ask(alias);
    const took = performance.now() - t0;
    expect(response.headers.get('x-modelroute-backend')).toBe('b');
    expect(a.requests).toHaveLength(2);
    expect(took).toBeLessThan(300);
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`modelroute_sidecar_circuit_state\\{backend="team-a/r${n}/a"\\} 1`));
  });

  test('a 429 with Retry-After opens the circuit at once, for that long', async () => {
    const alias = await routeAB();
    a.enqueue({ status: 429, retryAfter: '30' });
    await ask(alias);
    const { response } = await ask(alias);
    expect(response.headers.get('x-modelroute-backend')).toBe('b');
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(2);
  });
});
