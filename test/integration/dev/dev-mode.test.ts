/**
 * `modelroute dev` on a copy of examples/, as a newcomer runs it: every example route answers the openai SDK,
 * streamed and not, on every endpoint, from simulated models (no key in the environment), and says which
 * route, backend and tier answered, in headers and in its log.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { selectRoute } from '../../../core/decide.js';
import type { RequestFacts, RoutingTable } from '../../../core/api/types.js';
import { parseRouteFile } from '../../../local/route-files.js';
import { removeRoutes, startDev, tempRoutes, type DevProcess } from './dev-process.js';

let dir: string;
let dev: DevProcess;
let client: OpenAI;
let tables: RoutingTable[];

/** Every (model, headers) a client can send to reach some example route, with the route it must reach. */
function callsToMake(): { model: string; headers: Record<string, string>; route: string }[] {
  const calls = new Map<string, { model: string; headers: Record<string, string>; route: string }>();
  for (const t of tables) {
    for (const model of t.match.models) {
      const headers = Object.fromEntries(t.match.headers.map((h) => [h.name, h.value]));
      const facts = { model, header: (n: string) => headers[n] } as RequestFacts;
      const winner = selectRoute(tables, facts)!;
      calls.set(`${model} ${JSON.stringify(headers)}`, { model, headers, route: winner.route.name });
    }
  }
  return [...calls.values()];
}

beforeAll(async () => {
  dir = tempRoutes();
  tables = readdirSync(dir).flatMap((f) => parseRouteFile(f, readFileSync(join(dir, f), 'utf8')).tables);
  dev = await startDev({ routes: dir });
  client = new OpenAI({ baseURL: dev.baseURL, apiKey: 'local', maxRetries: 0 });
});

afterAll(async () => {
  const code = await dev?.stop();
  removeRoutes(dir);
  // A clean stop on SIGTERM is part of the contract (npm start, then Ctrl-C).
  expect(code).toBe(0);
});

describe('modelroute dev on the examples', () => {
  test('the banner names every route, real or simulated, and which route wins each model name', () => {
    const out = dev.output();
    for (const t of tables) {
      expect(out).toContain(`  ${t.route.name}  [${t.strategy.kind}]`);
      for (const b of t.backends) expect(out).toMatch(new RegExp(`${b.name} -> .*SIMULATED`));
    }
    for (const call of callsToMake()) {
      const headers = Object.entries(call.headers)
        .map(([k, v]) => ` with header ${k}: ${v}`)
        .join('');
      expect(out).toContain(`  ${call.model}${headers} -> ${call.route} (`);
    }
    // Any route that no call reaches is called out rather than silently ignored.
    const reached = new Set(callsToMake().map((c) => c.route));
    for (const t of tables.filter((t) => !reached.has(t.route.name))) {
      expect(out).toContain(`warning: route ${t.route.name} never receives a call`);
    }
    expect(out).toContain(`curl -sS -i ${dev.baseURL}/chat/completions`);
    expect(out).toContain(`OpenAI(base_url="${dev.baseURL}"`);
    expect(out).toContain(`new OpenAI({ baseURL: "${dev.baseURL}"`);
  });

  test('GET /v1/models lists every served model name', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids.sort()).toEqual([...new Set(tables.flatMap((t) => t.match.models))].sort());
  });

  test('every example route answers a chat call, not streamed, with usage and explain headers', async () => {
    for (const call of callsToMake()) {
      const { data, response } = await client.chat.completions
        .create(
          { model: call.model, messages: [{ role: 'user', content: `Hello from ${call.model}` }] },
          { headers: call.headers },
        )
        .withResponse();
      const route = tables.find((t) => t.route.name === call.route)!;
      expect(response.headers.get('x-modelroute-route')).toBe(call.route);
      const backend = route.backends.find((b) => b.name === response.headers.get('x-modelroute-backend'));
      expect(backend).toBeDefined();
      expect(data.model).toBe(backend!.model);
      expect(data.choices[0]!.message.content).toContain(`Simulated ${backend!.model}`);
      expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(data.usage!.completion_tokens).toBeGreaterThan(0);
      if (route.strategy.kind === 'complexity') {
        expect(response.headers.get('x-modelroute-tier')).toMatch(/^\d$/);
        expect(response.headers.get('x-modelroute-score')).toMatch(/^\d\.\d{3}$/);
      }
    }
  });

  test('every example route streams, token by token, with usage at the end', async () => {
    for (const call of callsToMake()) {
      const { data: stream, response } = await client.chat.completions
        .create(
          {
            model: call.model,
            messages: [{ role: 'user', content: 'Write a short story about a router.' }],
            stream: true,
            stream_options: { include_usage: true },
          },
          { headers: call.headers },
        )
        .withResponse();
      expect(response.headers.get('x-modelroute-route')).toBe(call.route);
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        const piece = chunk.choices[0]?.delta?.content;
        if (piece) {
          text += piece;
          chunks++;
        }
        if (chunk.usage) usage = chunk.usage;
      }
      expect(chunks).toBeGreaterThan(5);
      expect(text).toMatch(/^Simulated /);
      expect(usage!.completion_tokens).toBeGreaterThan(0);
      expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
    }
  });

  test('completions, embeddings and responses are simulated too', async () => {
    const model = callsToMake().find((c) => Object.keys(c.headers).length === 0)!.model;
    const completion = await client.completions.create({ model, prompt: 'Say something', max_tokens: 5 });
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(5);

    const emb = await client.embeddings.create({ model, input: ['one', 'two'], dimensions: 8 });
    expect(emb.data.map((d) => d.embedding.length)).toEqual([8, 8]);
    const again = await client.embeddings.create({ model, input: 'one', dimensions: 8 });
    expect(again.data[0]!.embedding).toEqual(emb.data[0]!.embedding);

    const resp = await client.responses.create({ model, input: 'What is a router?' });
    expect(resp.output_text).toMatch(/^Simulated /);
    expect(resp.usage!.output_tokens).toBeGreaterThan(0);

    const stream = await client.responses.create({ model, input: 'What is a router?', stream: true });
    let streamed = '';
    let completedText = '';
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') streamed += ev.delta;
      if (ev.type === 'response.completed') completedText = ev.response.output_text;
    }
    expect(streamed).toMatch(/^Simulated /);
    expect(completedText).toBe(streamed);
  });

  test('each answer logs its route, backend, tier, score and why', async () => {
    const complexity = callsToMake().find(
      (c) => tables.find((t) => t.route.name === c.route)!.strategy.kind === 'complexity',
    )!;
    const from = dev.output().length;
    const { response } = await client.chat.completions
      .create(
        { model: complexity.model, messages: [{ role: 'user', content: 'log me' }] },
        { headers: complexity.headers },
      )
      .withResponse();
    const backend = response.headers.get('x-modelroute-backend')!;
    const tier = response.headers.get('x-modelroute-tier')!;
    const line = await dev.waitForLine(
      new RegExp(`200 route ${complexity.route} -> backend ${backend} tier ${tier} score`),
      { from },
    );
    expect(line).toMatch(/score \d\.\d{3}: complexity: score/);
  });

  test('an unknown model gets an OpenAI-shaped 404 listing what is served', async () => {
    const err = await client.chat.completions
      .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((err as Error).message).toContain('served: ');
  });
});
