/**
 * Usage and cost: token counts from the upstream's usage (JSON and streams) or, when it sends none, from the
 * tokenizer; per-namespace / route / backend counters and the budget spend in Redis; budgets that reject or
 * downgrade once spent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { countTokens } from 'gpt-tokenizer';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { NS, backend, client, publish, redisClient, route, startTestSidecar, tableOf } from './support.js';

let redis: RedisServer;
let r: Redis;
let cheap: FakeUpstream;
let strong: FakeUpstream;
let sidecar: Sidecar;
let openai: OpenAI;

const pricing = { inputPerMillion: 3, outputPerMillion: 7 };

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  [cheap, strong] = await Promise.all([startFakeUpstream({ name: 'cheap' }), startFakeUpstream({ name: 'strong' })]);
  const backends = [
    backend('cheap', cheap.baseURL, { pricing }),
    backend('strong', strong.baseURL, { pricing: { inputPerMillion: 1000, outputPerMillion: 1000 } }),
  ];
  await publish(
    r,
    tableOf(route('plain', { match: { models: ['plain'] }, backends, strategy: { fixed: { backend: 'cheap' } } })),
  );
  await publish(
    r,
    tableOf(
      route('capped', {
        match: { models: ['capped'] },
        backends,
        strategy: { fixed: { backend: 'strong' } },
        budget: { limitUSD: 0.001, period: 'day', action: 'reject' },
      }),
    ),
  );
  await publish(
    r,
    tableOf(
      route('thrifty', {
        match: { models: ['thrifty'] },
        backends,
        strategy: { complexity: { tiers: [{ backend: 'cheap', upTo: 0.5 }, { backend: 'strong' }] } },
        budget: { limitUSD: 0.001, period: 'hour', action: 'downgrade' },
      }),
    ),
  );
  sidecar = await startTestSidecar(redis.url, { score: () => ({ score: 0.9, top: [] }) });
  openai = client(sidecar);
  await waitFor(() => sidecar.store.current().length === 3, { timeoutMs: 5000, message: 'three tables' });
});

beforeEach(async () => {
  await sidecar.usage!.flush();
  await r.del(`mr:{${NS}}:usage`);
  cheap.reset();
  strong.reset();
});

afterAll(async () => {
  await sidecar?.close();
  await Promise.all([cheap?.close(), strong?.close()]);
  r?.disconnect();
  await redis?.stop();
});

async function counters(): Promise<Record<string, number>> {
  await sidecar.usage!.flush();
  return Object.fromEntries(Object.entries(await r.hgetall(`mr:{${NS}}:usage`)).map(([k, v]) => [k, Number(v)]));
}

describe('usage and cost', () => {
  test('JSON and streamed answers: upstream usage counted per scope, cost = tokens x price', async () => {
    cheap.enqueue({ usage: { input: 120, output: 30 } }, { usage: { input: 80, output: 20 } });
    await openai.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'a' }] });
    for await (const _ of await openai.chat.completions.create({
      model: 'plain',
      messages: [{ role: 'user', content: 'b' }],
      stream: true,
    }));
    await waitFor(async () => (await counters())['ns|requests'] === 2, {
      timeoutMs: 5000,
      message: 'two requests counted',
    });
    const h = await counters();
    for (const scope of ['ns', 'route:plain', 'backend:plain/cheap']) {
      expect([
        h[`${scope}|requests`],
        h[`${scope}|input_tokens`],
        h[`${scope}|output_tokens`],
        h[`${scope}|cost_microusd`],
      ]).toEqual([2, 200, 50, 200 * 3 + 50 * 7]);
    }
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(metrics).toContain('modelroute_sidecar_tokens_total{route="plain",backend="cheap",direction="input"} 200');
  });

  test('an upstream that reports no usage is counted with the tokenizer', async () => {
    const prompt = 'How many tokens does this sentence have, exactly?';
    const answer = 'Exactly as many as the tokenizer says, no more and no less.';
    cheap.enqueue({ usage: null, content: answer }, { usage: null, content: answer });
    await openai.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: prompt }] });
    let streamed = '';
    for await (const c of await openai.chat.completions.create({
      model: 'plain',
      messages: [{ role: 'user', content: prompt }],
      stream: true,
    }))
      streamed += c.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(answer);
    await waitFor(async () => (await counters())['ns|requests'] === 2, {
      timeoutMs: 5000,
      message: 'two requests counted',
    });
    const h = await counters();
    expect(h['ns|input_tokens']).toBe(2 * countTokens(prompt));
    expect(h['ns|output_tokens']).toBe(2 * countTokens(answer));
  });

  test('budget reject: once spent, the route answers 429 budget_exceeded; spend is in Redis with an expiry', async () => {
    strong.enqueue({ usage: { input: 2, output: 0 } }); // 2 tokens x $1000/M = $0.002 > $0.001
    await openai.chat.completions.create({ model: 'capped', messages: [{ role: 'user', content: 'x' }] });
    const err = await openai.chat.completions
      .create({ model: 'capped', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    expect(strong.requests).toHaveLength(1);
    await sidecar.usage!.flush();
    const [key] = await r.keys(`mr:{${NS}}:spend:capped:day:*`);
    expect(key).toBe(`mr:{${NS}}:spend:capped:day:${new Date(new Date().setUTCHours(0, 0, 0, 0)).toISOString()}`);
    expect(Number(await r.get(key!))).toBe(2000);
    const ttl = await r.ttl(key!);
    expect(ttl).toBeGreaterThan(86_400);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400);
  });

  test('budget downgrade: once spent, a hard prompt goes to the cheap tier', async () => {
    const first = await openai.chat.completions
      .create({ model: 'thrifty', messages: [{ role: 'user', content: 'hard' }] })
      .withResponse();
    expect(first.response.headers.get('x-modelroute-backend')).toBe('strong');
    const second = await openai.chat.completions
      .create({ model: 'thrifty', messages: [{ role: 'user', content: 'hard' }] })
      .withResponse();
    expect(second.response.headers.get('x-modelroute-backend')).toBe('cheap');
    expect(second.response.headers.get('x-modelroute-tier')).toBe('0');
  });
});
