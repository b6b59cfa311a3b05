/**
 * Faults on purpose, against real servers: Redis killed with SIGKILL while requests are in flight (and brought
 * back while they still are), and upstreams that stall, cut or truncate a stream, hide an error in a 200, or
 * answer a storm of 429s with Retry-After. Each gets the right client outcome, the counters end exact, the
 * circuit opens, and no socket or timer is left behind.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import type OpenAI from 'openai';
import type { FailureKind, ModelRouteSpec } from '../../../core/api/types.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { NS, backend, client, publish, redisClient, route, startTestSidecar, tableOf } from '../sidecar/support.js';

const ROUNDS = 8;
const LOAD = Number(process.env.FAULT_REQUESTS ?? 1000);

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
  sidecar = await startTestSidecar(redis.url, { breaker: { failureThreshold: 3, cooldownMs: 60_000 } });
  openai = client(sidecar);
});

afterAll(async () => {
  await sidecar?.close();
  await Promise.all([a?.close(), b?.close()]);
  r?.disconnect();
  await redis?.stop();
});

/** Publishes a fresh route a -> b (its own circuits) and waits until it is in use; returns its alias. */
async function routeAB(opts: { on?: FailureKind[]; idleMs?: number; fallback?: boolean } = {}): Promise<string> {
  const alias = `alias-${++n}`;
  const spec: ModelRouteSpec = {
    match: { models: [alias] },
    backends: [
      backend('a', a.baseURL, { timeouts: { firstByteMs: 5000, connectMs: 1000, idleMs: opts.idleMs ?? 5000 } }),
      backend('b', b.baseURL),
    ],
    strategy: { fixed: { backend: 'a' } },
    ...(opts.fallback !== false && { fallbacks: [{ backend: 'a', to: ['b'], ...(opts.on && { on: opts.on }) }] }),
  };
  const t = tableOf(route(`r${n}`, spec));
  await publish(r, t);
  await waitFor(() => sidecar.store.current().some((x) => x.tableVersion === t.tableVersion), {
    timeoutMs: 5000,
    message: `route ${alias}`,
  });
  return alias;
}

/** ESTABLISHED TCP connections whose local port is `port` (the server side of a fake upstream), from /proc. */
function established(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[1]?.endsWith(`:${hex}`) && f[3] === '01';
    }).length;
}
const timers = () => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;

async function usageOf(scope: string): Promise<{ requests: number; input: number; output: number }> {
  const h = await r.hgetall(`mr:{${NS}}:usage`);
  const v = (m: string) => Number(h[`${scope}|${m}`] ?? 0);
  return { requests: v('requests'), input: v('input_tokens'), output: v('output_tokens') };
}

describe('Redis killed under load', () => {
  test(
    `${LOAD} requests while Redis is SIGKILLed and restarted: none fails, counters exact`,
    async () => {
      const alias = await routeAB();
      a.reset();
      b.reset();
      const route = `r${n}`;
      let done = 0;
      let failed = 0;
      let next = 0;
      const failures: string[] = [];
      const one = async (i: number) => {
        const content = `q${i} ${'w '.repeat(i % 17)}`;
        if (i % 3 === 0) {
          let text = '';
          for await (const ch of await openai.chat.completions.create({
            model: alias,
            messages: [{ role: 'user', content }],
            stream: true,
          }))
            text += ch.choices[0]?.delta.content ?? '';
          if (!text.includes('reply from a')) throw new Error(`stream ${i}: ${text}`);
        } else {
          const c = await openai.chat.completions.create({ model: alias, messages: [{ role: 'user', content }] });
          if (!c.choices[0]!.message.content!.includes('reply from a')) throw new Error(`json ${i}`);
        }
      };
      const worker = async () => {
        while (next < LOAD) {
          const i = next++;
          await one(i).catch((err: Error) => {
            failed++;
            failures.push(`${i}: ${err.message}`);
          });
          done++;
        }
      };
      // The faults happen while the workers run: kill at 30 %, back at 60 %.
      const chaos = (async () => {
        await waitFor(() => done >= LOAD * 0.3, { timeoutMs: 60_000, intervalMs: 5, message: '30 % done' });
        await redis.kill();
        const killedAt = done;
        await waitFor(() => done >= LOAD * 0.6, { timeoutMs: 60_000, intervalMs: 5, message: '60 % done' });
        await redis.restart();
        return { killedAt, restartedAt: done };
      })();
      await Promise.all(Array.from({ length: 8 }, worker));
      const { killedAt, restartedAt } = await chaos;
      expect(failures.slice(0, 5)).toEqual([]);
      expect(failed).toBe(0);
      // Every answered request's usage reaches Redis once Redis is back: nothing lost, nothing doubled.
      const sent = a.totalUsage();
      await waitFor(
        async () => sidecar.usage!.pendingFields() === 0 && (await usageOf(`route:${route}`)).requests >= LOAD,
        {
          timeoutMs: 15_000,
          message: 'usage flushed',
        },
      );
      const counted = await usageOf(`route:${route}`);
      expect(counted).toEqual({ requests: LOAD, input: sent.input, output: sent.output });
      expect(b.requests).toHaveLength(0);
      console.log(
        `redis kill -9 under load: sent ${LOAD}, failed ${failed}, killed at ${killedAt}, restarted at ${restartedAt}; ` +
          `upstream usage ${sent.input}/${sent.output}, counted ${counted.input}/${counted.output}, lost ${sent.input - counted.input}/${sent.output - counted.output}`,
      );
    },
    Math.max(90_000, LOAD * 60),
  );
});

describe('upstream faults', () => {
  let baseTimers = 0;
  // For the rounds of faults: a circuit that never opens, so every round reaches the faulty upstream.
  let tolerant: Sidecar;
  beforeAll(async () => {
    tolerant = await startTestSidecar(redis.url, { breaker: { failureThreshold: 1_000_000 } });
    // Warm the pools so the baseline includes their keep-alive sockets.
    const alias = await routeAB();
    await waitFor(() => tolerant.store.current().length === sidecar.store.current().length, {
      timeoutMs: 5000,
      message: 'tolerant sidecar has the routes',
    });
    await openai.chat.completions.create({ model: alias, messages: [{ role: 'user', content: 'warm' }] });
    await fetch(`${tolerant.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'warm' }] }),
    }).then((x) => x.text());
    baseTimers = timers();
  });
  afterAll(async () => {
    await tolerant?.close();
  });

  test('a stream that stalls halfway ends with a clean in-band error and the upstream is closed', async () => {
    const alias = await routeAB({ idleMs: 300 });
    a.reset();
    a.enqueue({ stream: { stallAfterChunks: 2 } });
    let text = '';
    const err = await (async () => {
      for await (const ch of await openai.chat.completions.create({
        model: alias,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }))
        text += ch.choices[0]?.delta.content ?? '';
    })().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/stream failed/);
    expect(text).toBe('reply from ');
    await a.requests[0]!.clientClosed;
    expect(b.requests).toHaveLength(0); // committed: no fallback after the first byte
  });

  test('streams that break after the first byte count against the circuit: no fallback for them, then the backend is skipped', async () => {
    const alias = await routeAB({ idleMs: 300 });
    a.reset();
    b.reset();
    // Threshold 3: a reset, a stall (idle timeout) and a torn event, each after bytes reached the client.
    a.enqueue(
      { stream: { resetAfterChunks: 1 } },
      { stream: { stallAfterChunks: 1 } },
      { stream: { truncateAfterChunks: 1 } },
    );
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${sidecar.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-modelroute-backend')).toBe('a');
      const body = await res.text();
      expect(body).toContain('reply');
      outcomes.push(/"code":"(upstream_stream_[a-z]+)"/.exec(body)?.[1] ?? 'none');
    }
    expect(outcomes).toEqual(['upstream_stream_error', 'upstream_stream_error', 'upstream_stream_truncated']);
    expect(b.requests).toHaveLength(0); // committed answers are never sent elsewhere
    // The circuit of a is open now: the next calls go straight to b without reaching a.
    for (let i = 0; i < 2; i++) {
      let text = '';
      const { data, response } = await openai.chat.completions
        .create({ model: alias, messages: [{ role: 'user', content: 'hi' }], stream: true })
        .withResponse();
      for await (const ch of data) text += ch.choices[0]?.delta.content ?? '';
      expect(response.headers.get('x-modelroute-backend')).toBe('b');
      expect(text).toContain('reply from b');
    }
    expect(a.requests).toHaveLength(3);
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(metrics).toContain(`modelroute_sidecar_circuit_state{backend="${NS}/r${n}/a"} 1`);
  });

  test('a truncated SSE event (no [DONE]) reaches the client as an error, not a silent short answer', async () => {
    const alias = await routeAB();
    a.reset();
    a.enqueue({ stream: { truncateAfterChunks: 2 } });
    const res = await fetch(`${sidecar.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).not.toContain('[DONE]');
    // The stream must not end as if complete: the client needs to know the answer was cut.
    expect(body).toMatch(/"error"/);
  });

  test('a 200 with an error body and malformed JSON fall back; when every backend does, a clean 502', async () => {
    const alias = await routeAB();
    a.reset();
    b.reset();
    a.enqueue({ errorBody: true }, { malformedJson: true });
    for (let i = 0; i < 2; i++) {
      const { response } = await openai.chat.completions
        .create({ model: alias, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(response.headers.get('x-modelroute-backend')).toBe('b');
    }
    const lone = await routeAB({ fallback: false });
    a.enqueue({ errorBody: true });
    const res = await fetch(`${sidecar.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: lone, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_error_body');
  });

  test('errors in a 200 open the circuit: later requests skip the backend without calling it', async () => {
    const alias = await routeAB();
    a.reset();
    b.reset();
    a.setDefault({ errorBody: true });
    try {
      for (let i = 0; i < 6; i++) {
        const { response } = await openai.chat.completions
          .create({ model: alias, messages: [{ role: 'user', content: 'hi' }] })
          .withResponse();
        expect(response.headers.get('x-modelroute-backend')).toBe('b');
      }
      expect(a.requests).toHaveLength(3); // threshold 3, then skipped
      expect(b.requests).toHaveLength(6);
    } finally {
      a.setDefault({});
    }
  });

  test('a Retry-After storm: the circuits open, the storm stops reaching the upstreams, clients get 503 + Retry-After', async () => {
    const alias = await routeAB();
    a.reset();
    b.reset();
    a.setDefault({ status: 429, retryAfter: '20' });
    b.setDefault({ status: 429, retryAfter: '20' });
    try {
      const first = await Promise.all(
        Array.from({ length: 40 }, () =>
          fetch(`${sidecar.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'hi' }] }),
          }).then(async (x) => ({ status: x.status, retryAfter: x.headers.get('retry-after'), body: await x.text() })),
        ),
      );
      for (const x of first) {
        expect([429, 503]).toContain(x.status);
        expect(Number(x.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(JSON.parse(x.body)).toHaveProperty('error');
      }
      const reached = a.requests.length + b.requests.length;
      const later = await Promise.all(
        Array.from({ length: 40 }, () =>
          fetch(`${sidecar.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'hi' }] }),
          }).then(async (x) => ({
            status: x.status,
            retryAfter: x.headers.get('retry-after'),
            code: ((await x.json()) as { error: { code: string } }).error.code,
          })),
        ),
      );
      for (const x of later) {
        expect(x.status).toBe(503);
        expect(x.code).toBe('circuit_open');
        expect(Number(x.retryAfter)).toBeGreaterThan(1);
      }
      expect(a.requests.length + b.requests.length).toBe(reached);
      console.log(`retry-after storm: 80 client requests, ${reached} reached the upstreams`);
    } finally {
      a.setDefault({});
      b.setDefault({});
    }
  });

  test('rounds of every fault leave no socket or timer behind', async () => {
    const alias = await routeAB({ idleMs: 300 });
    await waitFor(() => tolerant.store.current().some((t) => t.match.models.includes(alias)), {
      timeoutMs: 5000,
      message: `tolerant sidecar has ${alias}`,
    });
    const ask = (stream: boolean) =>
      fetch(`${tolerant.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: alias, messages: [{ role: 'user', content: 'hi' }], stream }),
      }).then((x) => x.text().catch(() => ''));
    const perRound: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.reset();
      a.enqueue(
        { stream: { stallAfterChunks: 1 } },
        { stream: { resetAfterChunks: 1 } },
        { stream: { truncateAfterChunks: 1 } },
        { errorBody: true },
        { malformedJson: true },
      );
      await Promise.all([ask(true), ask(true), ask(true), ask(false), ask(false)]);
      await Promise.all(Array.from({ length: 20 }, (_, k) => ask(k % 2 === 0)));
      await a.requests[0]!.clientClosed; // the stalled one was let go
      perRound.push(established(a.port) + established(b.port));
    }
    // Idle keep-alive connections are kept for reuse; a leak would add connections every round.
    console.log(`rounds: ${perRound.join(',')}`);
    expect(Math.max(...perRound.slice(ROUNDS / 2))).toBeLessThanOrEqual(Math.max(...perRound.slice(0, ROUNDS / 2)) + 2);
    await waitFor(() => timers() <= baseTimers + 2, {
      timeoutMs: 5000,
      message: () => `timers ${timers()} back to ${baseTimers}`,
    });
    console.log(
      `upstream connections after each fault round: ${perRound.join(', ')}; timers ${timers()} (baseline ${baseTimers})`,
    );
  });
});
