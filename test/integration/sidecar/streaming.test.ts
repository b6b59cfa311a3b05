/**
 * Streaming: chunks reach the client in order as the upstream sends them (not buffered), the usage chunk the
 * sidecar asked for is hidden from a client that did not ask, a client that goes away closes the upstream
 * request, and a stream that broke after its first byte is never retried elsewhere.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { startRedis, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { backend, client, publish, redisClient, route, startTestSidecar, tableOf } from './support.js';

let redis: RedisServer;
let r: Redis;
let a: FakeUpstream;
let b: FakeUpstream;
let sidecar: Sidecar;
let openai: OpenAI;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  [a, b] = await Promise.all([startFakeUpstream({ name: 'a' }), startFakeUpstream({ name: 'b' })]);
  await publish(
    r,
    tableOf(
      route('chat', {
        match: { models: ['chat'] },
        backends: [backend('a', a.baseURL), backend('b', b.baseURL)],
        strategy: { fixed: { backend: 'a' } },
        fallbacks: [{ backend: 'a', to: ['b'] }],
      }),
    ),
  );
  sidecar = await startTestSidecar(redis.url);
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

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('streaming', () => {
  test('chunks arrive one by one, in order, before the upstream sends the next', async () => {
    const gates = Array.from({ length: 4 }, deferred);
    const written: number[] = [];
    gates[0]!.resolve();
    a.enqueue({
      content: 'one two three four',
      stream: { gate: async (i) => (await gates[i]!.promise, void written.push(i)) },
    });
    const stream = await openai.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'count' }],
      stream: true,
    });
    const got: string[] = [];
    let i = 0;
    for await (const chunk of stream) {
      expect(chunk.usage ?? undefined).toBeUndefined();
      got.push(chunk.choices[0]!.delta.content ?? '');
      // The client holds chunk i while chunk i+1 is still held by the upstream: nothing was buffered.
      expect(written).toEqual(Array.from({ length: i + 1 }, (_, k) => k));
      i++;
      gates[i]?.resolve();
    }
    expect(got).toEqual(['one ', 'two ', 'three ', 'four']);
    // The sidecar asked for usage although the client did not, and hid that chunk from it.
    expect(a.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  test('an upstream slow to its first event: its headers reach the client at once', async () => {
    const first = deferred();
    a.enqueue({ content: 'late reply', stream: { gate: (i) => (i === 0 ? first.promise : Promise.resolve()) } });
    const res = await fetch(`${sidecar.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }], stream: true }),
      // Without the headers, fetch would wait for the first event, which the upstream holds until below.
      signal: AbortSignal.timeout(5000),
    });
    expect(res.headers.get('x-modelroute-backend')).toBe('a');
    first.resolve();
    expect(await res.text()).toContain('"content":"late "');
  });

  test('a client that asked for usage gets the usage chunk last', async () => {
    a.enqueue({ content: 'x y', usage: { input: 13, output: 4 } });
    const stream = await openai.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'u' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 13, completion_tokens: 4, total_tokens: 17 });
    expect(chunks.at(-1)!.choices).toEqual([]);
  });

  test('a client abort closes the upstream request', async () => {
    a.enqueue({ content: 'a b c d e f', stream: { stallAfterChunks: 2 } });
    const ac = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: ac.signal },
    );
    let n = 0;
    // The SDK ends the iteration quietly on abort; what matters is what the upstream saw.
    await (async () => {
      for await (const _ of stream) if (++n === 2) ac.abort();
    })().catch(() => undefined);
    expect(n).toBe(2);
    await a.requests[0]!.clientClosed;
    expect(a.requests[0]!.closedEarly).toBe(true);
    expect(b.requests).toHaveLength(0);
  });

  test('no fallback once the first byte was sent: a reset mid-stream ends the stream with an error', async () => {
    a.enqueue({ content: 'a b c d e f', stream: { resetAfterChunks: 2 } });
    const stream = await openai.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c.choices[0]!.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(got).toEqual(['a ', 'b ']);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('upstream_stream_error');
    expect(b.requests).toHaveLength(0);
  });

  test('a stream that times out before its first byte falls back', async () => {
    a.enqueue({ hang: true });
    const slowTable = tableOf(
      route('slow', {
        match: { models: ['slow'] },
        backends: [backend('a', a.baseURL, { timeouts: { firstByteMs: 200 } }), backend('b', b.baseURL)],
        strategy: { fixed: { backend: 'a' } },
        fallbacks: [{ backend: 'a', to: ['b'], on: ['timeout'] }],
      }),
    );
    await publish(r, slowTable);
    await waitTable(slowTable.tableVersion);
    const stream = await openai.chat.completions.create({
      model: 'slow',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('reply from b to b-model');
    await a.requests[0]!.clientClosed;
  });
});

async function waitTable(version: string) {
  const { waitFor } = await import('../../helpers/wait.js');
  await waitFor(() => sidecar.store.current().some((t) => t.tableVersion === version), {
    timeoutMs: 5000,
    message: `table ${version}`,
  });
}
