/**
 * The simulated models on their own (real HTTP server on port 0, the openai SDK as client): OpenAI-shaped
 * answers with usage counted by the tokenizer, reasoning tokens billed for effort, max_tokens honoured, and
 * latency that behaves like a model's (a wait before the first byte, then tokens paced over time).
 * Timing checks are lower bounds only: sleeps guarantee them, a busy machine can only make them longer.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../../local/simulator.js';

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ latencyScale: 1 });
  client = new OpenAI({ baseURL: sim.baseURLFor('my-route', 'my-backend'), apiKey: 'x', maxRetries: 0 });
});

afterAll(() => sim.close());

describe('simulator', () => {
  test('a chat answer names model, route and backend, with usage as OpenAI bills it', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(r.model).toBe('gpt-4o-mini');
    expect(r.choices[0]!.message.content).toMatch(
      /^Simulated gpt-4o-mini \(route my-route, backend my-backend\) answering "hello"/,
    );
    // 3 (reply priming) + 3 (message framing) + 1 ("user") + 1 ("hello").
    expect(r.usage!.prompt_tokens).toBe(8);
    expect(r.choices[0]!.finish_reason).toBe('stop');
  });

  test('the same prompt gets the same answer', async () => {
    const ask = () =>
      client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'same question' }],
        max_tokens: 10,
      });
    expect((await ask()).choices[0]!.message.content).toBe((await ask()).choices[0]!.message.content);
  });

  test('max_tokens cuts the answer with finish_reason length', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'tell me everything' }],
      max_tokens: 7,
    });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(7);
  });

  test('reasoning effort is billed as reasoning tokens and thinks before answering', async () => {
    const started = performance.now();
    const r = await client.chat.completions.create({
      model: 'o4-mini',
      messages: [{ role: 'user', content: 'hard' }],
      reasoning_effort: 'low',
      max_tokens: 5,
    });
    expect(r.usage!.completion_tokens_details!.reasoning_tokens).toBe(64);
    // The visible answer is capped at 5 tokens; the thinking is billed on top, as OpenAI does.
    expect(r.usage!.completion_tokens - 64).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens - 64).toBeLessThanOrEqual(5);
    // Small-model first byte (>= 180 ms * 0.85) plus low effort (300 ms).
    expect(performance.now() - started).toBeGreaterThanOrEqual(153 + 300);
  });

  test('a stream waits for its first token, then paces the rest', async () => {
    const started = performance.now();
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 40,
    });
    const at: number[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) at.push(performance.now());
      if (chunk.usage) usage = chunk.usage;
    }
    expect(at[0]! - started).toBeGreaterThanOrEqual(153);
    // Every token after the first chunk's costs >= 6 ms * 0.85 before it is sent.
    expect(at[at.length - 1]! - at[0]!).toBeGreaterThanOrEqual((usage!.completion_tokens - 10) * 5.1);
    expect(at.length).toBeGreaterThan(5);
  });

  test('embeddings are deterministic unit vectors, decoded from base64 by the SDK', async () => {
    const r = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a', 'b', 'a'],
      dimensions: 16,
    });
    const [a, b, a2] = r.data.map((d) => d.embedding);
    expect(a).toEqual(a2);
    expect(a).not.toEqual(b);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
    expect(r.usage.prompt_tokens).toBe(3);
  });

  test('bad input gets an OpenAI-shaped 400', async () => {
    const res = await fetch(`${sim.baseURLFor('r', 'b')}/chat/completions`, { method: 'POST', body: '{not json' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    const err = await client.chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
