/**
 * Shutdown: close() (what SIGTERM runs) lets an in-flight call finish, refuses new ones, and flushes the
 * usage of everything answered before it returns.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { SidecarTelemetry } from '../../../telemetry/sidecar-telemetry.js';
import { NS, client, publish, redisClient, startTestSidecar, tableOf, fixedRoute } from './support.js';

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  await publish(r, tableOf(fixedRoute(up.baseURL)));
});

afterAll(async () => {
  await up?.close();
  r?.disconnect();
  await redis?.stop();
});

describe('telemetry seam', () => {
  test('the shipped SidecarTelemetry sees decisions, attempts and usage', async () => {
    const sidecar = await startTestSidecar(redis.url, {
      observer: (registry) => new SidecarTelemetry({ registry, namespace: NS, tracing: false }),
    });
    try {
      await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'ready' });
      up.enqueue({ usage: { input: 21, output: 4 } });
      await client(sidecar).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/modelroute_sidecar_decisions_total\{[^}]*route="main"[^}]*\} 1/);
      expect(metrics).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_token_type="input"[^}]*\} 21/);
      expect(metrics).toMatch(/gen_ai_client_operation_duration_seconds_count\{[^}]*\} 1/);
    } finally {
      await sidecar.close();
    }
  });
});

describe('shutdown', () => {
  test('drains in-flight calls, refuses new ones, flushes usage', async () => {
    // A long flush period: only close() can have written the counters.
    await r.del(`mr:{${NS}}:usage`);
    const sidecar = await startTestSidecar(redis.url, { flushMs: 60_000 });
    await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'ready' });
    const openai = client(sidecar);
    up.enqueue({ delayMs: 400, usage: { input: 11, output: 5 } });
    const seen = up.requests.length;
    const inflight = openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'slow' }] });
    await up.waitForRequests(seen + 1);
    const closed = sidecar.close(5_000);
    const c = await inflight;
    expect(c.choices[0]!.message.content).toBe('reply from up to up-model');
    await closed;
    await expect(fetch(`${sidecar.url}/v1/models`)).rejects.toThrow();
    expect(await r.hget(`mr:{${NS}}:usage`, 'ns|input_tokens')).toBe('11');
  });
});
