/**
 * Redis away: a sidecar that starts while Redis is down routes by its last-good file; a sidecar that loses
 * Redis mid-traffic keeps answering; and once Redis is back the usage counters equal exactly the sum of what
 * the upstreams reported, with nothing lost and nothing counted twice (even when a flush's reply is lost).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { RoutingTable } from '../../../core/api/types.js';
import { UsageRecorder } from '../../../sidecar/usage-recorder.js';
import { NS, backend, client, publish, redisClient, route, startTestSidecar, tableOf } from './support.js';

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let dir: string;
let table: RoutingTable;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  dir = mkdtempSync(join(tmpdir(), 'sidecar-state-'));
  table = tableOf(
    route('main', {
      match: { models: ['m'] },
      backends: [backend('up', up.baseURL, { pricing: { inputPerMillion: 3, outputPerMillion: 7 } })],
      strategy: { fixed: { backend: 'up' } },
    }),
  );
  await publish(r, table);
});

afterAll(async () => {
  await up?.close();
  r?.disconnect();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function traffic(openai: OpenAI, count: number): Promise<void> {
  for (let i = 0; i < count; i += 4) {
    await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        const content = `question ${i + k} ${'x'.repeat((i * 7 + k) % 50)}`;
        if (k % 2 === 0) {
          const c = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });
          expect(c.choices[0]!.message.content).toContain('reply from up');
        } else {
          let text = '';
          for await (const ch of await openai.chat.completions.create({
            model: 'm',
            messages: [{ role: 'user', content }],
            stream: true,
          }))
            text += ch.choices[0]?.delta.content ?? '';
          expect(text).toContain('reply from up');
        }
      }),
    );
  }
}

async function usageHash(): Promise<Record<string, number>> {
  const h = await r.hgetall(`mr:{${NS}}:usage`);
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
}

describe('Redis outages', () => {
  test('killed at start: the last-good file routes', async () => {
    const stateFile = join(dir, 'tables.json');
    const first = await startTestSidecar(redis.url, { stateFile });
    await waitFor(
      () => {
        try {
          return (
            (JSON.parse(readFileSync(stateFile, 'utf8')) as { tables: RoutingTable[] }).tables[0]?.tableVersion ===
            table.tableVersion
          );
        } catch {
          return false;
        }
      },
      { timeoutMs: 5000, message: 'state file written' },
    );
    await first.close();

    await redis.kill();
    const second = await startTestSidecar(redis.url, { stateFile });
    try {
      expect(second.store.ready()).toBe(true);
      const c = await client(second).chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(c.choices[0]!.message.content).toBe('reply from up to up-model');
      expect((await fetch(`${second.adminUrl}/readyz`)).status).toBe(200);
    } finally {
      await second.close();
      await redis.restart();
    }
  });

  test('killed mid-traffic: every request succeeds and the counters end exact', async () => {
    await r.del(`mr:{${NS}}:usage`);
    up.reset();
    const sidecar = await startTestSidecar(redis.url);
    try {
      const openai = client(sidecar);
      await traffic(openai, 24);
      await redis.kill();
      await traffic(openai, 24);
      expect(sidecar.usage!.pendingFields()).toBeGreaterThan(0);
      await redis.restart();
      await traffic(openai, 8);

      const sent = up.totalUsage();
      const spend = Math.round(sent.input * 3 + sent.output * 7);
      expect(up.requests).toHaveLength(56);
      await waitFor(
        async () => {
          const h = await usageHash();
          return (
            h['ns|requests'] === 56 && h['ns|input_tokens'] === sent.input && h['ns|output_tokens'] === sent.output
          );
        },
        { timeoutMs: 10_000, message: `usage to reach 56 requests, ${sent.input} in, ${sent.output} out` },
      );
      const h = await usageHash();
      for (const scope of ['ns', 'route:main', 'backend:main/up']) {
        expect([h[`${scope}|requests`], h[`${scope}|input_tokens`], h[`${scope}|output_tokens`]]).toEqual([
          56,
          sent.input,
          sent.output,
        ]);
      }
      // Cost is rounded per request, so the total is within half a micro-dollar per request of the exact sum.
      expect(Math.abs(h['ns|cost_microusd']! - spend)).toBeLessThanOrEqual(28);
    } finally {
      await sidecar.close();
    }
  });

  test('a flush whose reply was lost is retried without counting twice', async () => {
    await r.del(`mr:{${NS}}:usage`);
    const impatient = new Redis(redis.url, { commandTimeout: 100, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    impatient.on('error', () => undefined);
    await waitFor(() => impatient.status === 'ready', { timeoutMs: 5000, message: 'redis client' });
    const recorder = new UsageRecorder(impatient, NS);
    try {
      recorder.record({ table, backend: table.backends[0]!, input: 100, output: 10 });
      // Redis holds the script until the pause ends, long after the client stopped waiting for the reply.
      await r.call('CLIENT', 'PAUSE', '400', 'ALL');
      expect(await recorder.flush()).toBe(false);
      await waitFor(async () => (await usageHash())['ns|input_tokens'] === 100, {
        timeoutMs: 5000,
        message: 'paused batch applied',
      });
      expect(await recorder.flush()).toBe(true);
      recorder.record({ table, backend: table.backends[0]!, input: 1, output: 1 });
      expect(await recorder.flush()).toBe(true);
      const h = await usageHash();
      expect([h['ns|requests'], h['ns|input_tokens'], h['ns|output_tokens']]).toEqual([2, 101, 11]);
    } finally {
      impatient.disconnect();
    }
  });
});
