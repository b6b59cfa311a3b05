/**
 * Routing by alias for every strategy: the chosen upstream receives the rewritten model and its own
 * credential (never the app's key), and the response headers explain the decision.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { backend, client, publish, redisClient, route, secretOf, startTestSidecar, tableOf } from './support.js';

let redis: RedisServer;
let r: Redis;
let cheap: FakeUpstream;
let strong: FakeUpstream;
let azure: FakeUpstream;
let sidecar: Sidecar;
let openai: OpenAI;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  [cheap, strong, azure] = await Promise.all([
    startFakeUpstream({ name: 'cheap' }),
    startFakeUpstream({ name: 'strong' }),
    startFakeUpstream({ name: 'azure' }),
  ]);
  const two = [
    backend('cheap', cheap.baseURL, { pricing: { inputPerMillion: 0.1, outputPerMillion: 0.4 } }),
    backend('strong', strong.baseURL, {
      pricing: { inputPerMillion: 5, outputPerMillion: 15 },
      capabilities: { reasoning: true },
    }),
  ];
  await publish(
    r,
    tableOf(
      route('fixed', { match: { models: ['fixed-alias'] }, backends: two, strategy: { fixed: { backend: 'strong' } } }),
    ),
  );
  await publish(
    r,
    tableOf(
      route('weighted', {
        match: { models: ['weighted-alias'] },
        backends: two,
        strategy: {
          weighted: {
            backends: [
              { backend: 'cheap', weight: 1 },
              { backend: 'strong', weight: 3 },
            ],
          },
        },
      }),
    ),
  );
  await publish(
    r,
    tableOf(route('cheapest', { match: { models: ['cheapest-alias'] }, backends: two, strategy: { cheapest: {} } })),
  );
  await publish(
    r,
    tableOf(
      route('smart', {
        match: { models: ['smart'] },
        backends: two,
        strategy: {
          complexity: {
            tiers: [
              { backend: 'cheap', upTo: 0.5 },
              { backend: 'strong', reasoningEffort: 'high' },
            ],
          },
        },
      }),
    ),
  );
  await publish(
    r,
    tableOf(
      route('azure', {
        match: { models: ['azure-alias'] },
        backends: [
          {
            name: 'az',
            provider: 'azure-openai',
            baseURL: azure.url,
            model: 'gpt-4o-deploy',
            apiVersion: '2024-10-21',
            credentialsSecretRef: { name: 'az', key: 'api-key' },
          },
        ],
        strategy: { fixed: { backend: 'az' } },
      }),
    ),
  );
  // weighted: 0.6 x total weight 4 = 2.4 lands in strong's share [1, 4).
  sidecar = await startTestSidecar(redis.url, {
    random: () => 0.6,
    score: (m) => ({ score: JSON.stringify(m).includes('prove') ? 0.9 : 0.1, top: [{ feature: 'test', weight: 1 }] }),
  });
  openai = client(sidecar);
});

afterAll(async () => {
  await sidecar?.close();
  await Promise.all([cheap?.close(), strong?.close(), azure?.close()]);
  r?.disconnect();
  await redis?.stop();
});

const last = (up: FakeUpstream) => up.requests[up.requests.length - 1]!;

async function chat(model: string, content = 'hello') {
  return openai.chat.completions.create({ model, messages: [{ role: 'user', content }] }).withResponse();
}

describe('routing by alias', () => {
  test('fixed: rewritten model, sealed credential opened and injected, explaining headers', async () => {
    const { data, response } = await chat('fixed-alias');
    expect(data.choices[0]!.message.content).toBe('reply from strong to strong-model');
    const seen = last(strong);
    expect(seen.path).toBe('/v1/chat/completions');
    expect((seen.body as { model: string }).model).toBe('strong-model');
    expect(seen.headers.authorization).toBe(`Bearer ${secretOf('strong')}`);
    expect(JSON.stringify(seen.headers)).not.toContain('app-key-not-forwarded');
    expect(response.headers.get('x-modelroute-route')).toBe('fixed');
    expect(response.headers.get('x-modelroute-backend')).toBe('strong');
    expect(response.headers.get('x-modelroute-model')).toBe('strong-model');
    expect(response.headers.get('x-modelroute-table-version')).toMatch(/^[0-9a-f]+$/);
  });

  test('weighted: the share the random draw falls in', async () => {
    const { response } = await chat('weighted-alias');
    expect(response.headers.get('x-modelroute-backend')).toBe('strong');
    expect((last(strong).body as { model: string }).model).toBe('strong-model');
  });

  test('cheapest: the cheaper backend that fits', async () => {
    const { response } = await chat('cheapest-alias');
    expect(response.headers.get('x-modelroute-backend')).toBe('cheap');
    expect(last(cheap).headers.authorization).toBe(`Bearer ${secretOf('cheap')}`);
  });

  test('complexity: easy prompt to tier 0, hard prompt to tier 1 with its reasoning effort', async () => {
    const easy = await chat('smart', 'hi there');
    expect(easy.response.headers.get('x-modelroute-tier')).toBe('0');
    expect(easy.response.headers.get('x-modelroute-score')).toBe('0.100');
    expect(easy.response.headers.get('x-modelroute-backend')).toBe('cheap');
    expect(last(cheap).body).not.toHaveProperty('reasoning_effort');

    const hard = await chat('smart', 'prove that there are infinitely many primes');
    expect(hard.response.headers.get('x-modelroute-tier')).toBe('1');
    expect(hard.response.headers.get('x-modelroute-score')).toBe('0.900');
    expect(last(strong).body).toMatchObject({ model: 'strong-model', reasoning_effort: 'high' });
  });

  test('azure-openai: deployment URL with api-version and the api-key header', async () => {
    await chat('azure-alias');
    const seen = last(azure);
    expect(seen.path).toBe('/openai/deployments/gpt-4o-deploy/chat/completions');
    expect(seen.query.get('api-version')).toBe('2024-10-21');
    expect(seen.headers['api-key']).toBe(secretOf('az'));
    expect(seen.headers.authorization).toBeUndefined();
  });

  test('completions, embeddings and responses endpoints route the same way', async () => {
    const c = await openai.completions.create({ model: 'fixed-alias', prompt: 'say hi' });
    expect(c.choices[0]!.text).toBe('reply from strong to strong-model');
    expect(last(strong).path).toBe('/v1/completions');
    const e = await openai.embeddings.create({ model: 'cheapest-alias', input: 'embed me' });
    expect(e.data[0]!.embedding).toHaveLength(3);
    expect(last(cheap).path).toBe('/v1/embeddings');
    const resp = await openai.responses.create({ model: 'smart', input: 'prove it' });
    expect(resp.output_text).toBe('reply from strong to strong-model');
    expect(last(strong).body).toMatchObject({ model: 'strong-model', reasoning: { effort: 'high' } });
  });

  test('GET /v1/models lists the aliases served; an unknown model is a 404 naming them', async () => {
    const models = (await openai.models.list()).data.map((m) => m.id);
    expect(models).toEqual(['azure-alias', 'cheapest-alias', 'fixed-alias', 'smart', 'weighted-alias']);
    const err = await chat('gpt-unknown').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((err as Error).message).toContain('served: azure-alias, cheapest-alias, fixed-alias, smart, weighted-alias');
  });
});

describe('targetShare', () => {
  test('the top tier takes about targetShare of the traffic, whatever upTo says', async () => {
    await publish(
      r,
      tableOf(
        route('share', {
          match: { models: ['share'] },
          backends: [backend('cheap', cheap.baseURL), backend('strong', strong.baseURL)],
          strategy: {
            complexity: { tiers: [{ backend: 'cheap', upTo: 0.5 }, { backend: 'strong' }], targetShare: 0.25 },
          },
        }),
      ),
    );
    // Scores read from the prompt, uniform over [0, 1); the prior says the same, so the threshold is ~0.75.
    const own = await startTestSidecar(redis.url, {
      score: (m) => ({ score: Number(String(m[0]!.content)), top: [] }),
      scorePrior: Array.from({ length: 101 }, (_, i) => i / 100),
    });
    try {
      await waitFor(() => own.store.current().some((t) => t.route.name === 'share'), {
        timeoutMs: 5000,
        message: 'share route',
      });
      const sdk = client(own);
      const tiers: string[] = [];
      for (let i = 0; i < 100; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, (_, k) =>
            sdk.chat.completions
              .create({ model: 'share', messages: [{ role: 'user', content: String((((i + k) * 37) % 100) / 100) }] })
              .withResponse(),
          ),
        );
        for (const b of batch) tiers.push(b.response.headers.get('x-modelroute-tier')!);
      }
      const top = tiers.filter((t) => t === '1').length;
      expect(top).toBeGreaterThanOrEqual(18);
      expect(top).toBeLessThanOrEqual(32);
    } finally {
      await own.close();
    }
  });
});
