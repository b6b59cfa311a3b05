/**
 * Concurrent-request caps against real streams: a client past --max-streams-per-client gets 429
 * `too_many_streams` with Retry-After in OpenAI's shape (the SDK raises a RateLimitError) while a client on
 * another address is still served; --max-streams caps all clients together; and every ending (complete,
 * upstream failure mid-stream, client abort) gives its slot back.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import OpenAI, { RateLimitError } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { fixedRoute, publish, redisClient, startTestSidecar, tableOf } from '../sidecar/support.js';

const PER_CLIENT = 4;
const TOTAL = 6;

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let sidecar: Sidecar;
const agents: Agent[] = [];

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  await publish(r, tableOf(fixedRoute(up.baseURL)));
  sidecar = await startTestSidecar(redis.url, { limits: { perClient: PER_CLIENT, total: TOTAL } });
  await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'sidecar ready' });
});

afterAll(async () => {
  await sidecar?.close(1000);
  await Promise.all(agents.map((a) => a.close()));
  await up?.close();
  r?.disconnect();
  await redis?.stop();
});

/** An SDK client whose connections leave from `address` (any 127.x.y.z is loopback on Linux). */
function clientFrom(address: string): OpenAI {
  const agent = new Agent({ localAddress: address });
  agents.push(agent);
  return new OpenAI({
    apiKey: 'k',
    baseURL: sidecar.baseURL,
    maxRetries: 0,
    timeout: 20_000,
    fetch: ((url: string, init: object) =>
      undiciFetch(url, { ...init, dispatcher: agent })) as unknown as typeof globalThis.fetch,
  });
}

/** Opens a stream and reads its first chunk; the upstream then stalls, so the stream stays in flight. */
async function openStream(c: OpenAI) {
  const s = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
  const it = s[Symbol.asyncIterator]();
  const first = await it.next();
  expect(first.done).toBe(false);
  return { s, it };
}

async function inFlight(): Promise<number> {
  const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
  return Number(/^modelroute_sidecar_requests_in_flight (\d+)/m.exec(text)?.[1]);
}

async function refusal(c: OpenAI, stream: boolean): Promise<RateLimitError> {
  const err = await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RateLimitError);
  return err as RateLimitError;
}

describe('concurrent-request caps', () => {
  test('past the per-client cap: 429 too_many_streams with Retry-After; another address is still served', async () => {
    up.reset();
    up.setDefault({ stream: { stallAfterChunks: 1 } });
    const a = clientFrom('127.0.0.1');
    const b = clientFrom('127.0.0.2');
    try {
      const held = await Promise.all(Array.from({ length: PER_CLIENT }, () => openStream(a)));
      expect(await inFlight()).toBe(PER_CLIENT);
      for (const stream of [true, false]) {
        const err = await refusal(a, stream);
        expect(err.status).toBe(429);
        expect(err.code).toBe('too_many_streams');
        expect(err.type).toBe('rate_limit_error');
        expect(err.message).toMatch(/too many concurrent requests from 127\.0\.0\.1 \(limit 4\)/);
        expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      // Refusals never reach the upstream.
      expect(up.requests).toHaveLength(PER_CLIENT);
      const other = await openStream(b);
      expect(up.requests).toHaveLength(PER_CLIENT + 1);
      // Client aborts give every slot back: the same client is served again.
      for (const h of [...held, other]) h.s.controller.abort();
      await waitFor(async () => (await inFlight()) === 0, { timeoutMs: 5000, message: 'slots released on abort' });
      await Promise.all(up.requests.map((q) => q.clientClosed));
      const again = await Promise.all(Array.from({ length: PER_CLIENT }, () => openStream(a)));
      for (const h of again) h.s.controller.abort();
      await waitFor(async () => (await inFlight()) === 0, { timeoutMs: 5000, message: 'slots released again' });
    } finally {
      up.setDefault({});
    }
  });

  test('the total cap holds across addresses', async () => {
    up.reset();
    up.setDefault({ stream: { stallAfterChunks: 1 } });
    const clients = ['127.0.0.3', '127.0.0.4', '127.0.0.5'].map(clientFrom);
    try {
      const held = await Promise.all(Array.from({ length: TOTAL }, (_, i) => openStream(clients[i % 2]!)));
      const err = await refusal(clients[2]!, true);
      expect(err.code).toBe('too_many_streams');
      expect(err.message).toMatch(/in this sidecar \(limit 6\)/);
      held[0]!.s.controller.abort();
      await waitFor(async () => (await inFlight()) === TOTAL - 1, { timeoutMs: 5000, message: 'one slot back' });
      const last = await openStream(clients[2]!);
      for (const h of [...held.slice(1), last]) h.s.controller.abort();
      await waitFor(async () => (await inFlight()) === 0, { timeoutMs: 5000, message: 'all slots back' });
    } finally {
      up.setDefault({});
    }
  });

  test('complete answers and streams cut by the upstream give their slots back too', async () => {
    up.reset();
    const a = clientFrom('127.0.0.6');
    for (let round = 0; round < 3; round++) {
      // Twice the cap, in sequence batches of the cap: a leaked slot would refuse a later batch.
      for (let k = 0; k < 2; k++) {
        await Promise.all(
          Array.from({ length: PER_CLIENT }, async (_, i) => {
            if (i % 2 === 0) {
              const c = await a.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
              expect(c.choices[0]!.message.content).toContain('reply from up');
            } else {
              let text = '';
              for await (const ch of await a.chat.completions.create({
                model: 'm',
                messages: [{ role: 'user', content: 'hi' }],
                stream: true,
              }))
                text += ch.choices[0]?.delta.content ?? '';
              expect(text).toContain('reply from up');
            }
          }),
        );
      }
      up.enqueue(...Array.from({ length: PER_CLIENT }, () => ({ stream: { resetAfterChunks: 1 } })));
      const cut = await Promise.all(
        Array.from({ length: PER_CLIENT }, async () => {
          try {
            for await (const _ of await a.chat.completions.create({
              model: 'm',
              messages: [{ role: 'user', content: 'hi' }],
              stream: true,
            }));
            return 'complete';
          } catch (e) {
            return (e as Error).message;
          }
        }),
      );
      for (const m of cut) expect(m).toMatch(/stream failed/);
    }
    await waitFor(async () => (await inFlight()) === 0, { timeoutMs: 5000, message: 'no slot held' });
  });
});
