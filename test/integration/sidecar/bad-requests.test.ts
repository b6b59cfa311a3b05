/**
 * Bad input never crashes the sidecar: each gets the right status and OpenAI's error shape, nothing reaches
 * an upstream, and the next good request is served.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { client, publish, redisClient, startTestSidecar, tableOf, fixedRoute } from './support.js';

const LIMIT = 64 * 1024;
let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let sidecar: Sidecar;
let openai: OpenAI;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  await publish(r, tableOf(fixedRoute(up.baseURL)));
  sidecar = await startTestSidecar(redis.url, { bodyLimit: LIMIT });
  openai = client(sidecar);
  await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'sidecar ready' });
});

afterAll(async () => {
  await sidecar?.close();
  await up?.close();
  r?.disconnect();
  await redis?.stop();
});

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${sidecar.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, body: (await res.json()) as { error: { message: string; type: string; code: string } } };
}

/** A chunked upload (no Content-Length) that keeps going past the limit. */
function chunkedPost(bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${sidecar.url}/v1/chat/completions`);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(16 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const good = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

describe('bad requests', () => {
  test.each([
    ['malformed JSON', '{"model": "m", "messages": [', 400, 'invalid_json'],
    ['not an object', '[1, 2]', 400, 'invalid_body'],
    ['model not a string', JSON.stringify({ model: 7, messages: [] }), 400, 'invalid_model'],
    ['messages not an array', JSON.stringify({ model: 'm', messages: 'hi' }), 400, 'invalid_messages'],
    ['message without role', JSON.stringify({ model: 'm', messages: [{ content: 'hi' }] }), 400, 'invalid_messages'],
    [
      'stream not a boolean',
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }),
      400,
      'invalid_type',
    ],
    [
      'max_tokens negative',
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: -1 }),
      400,
      'invalid_type',
    ],
    [
      'unknown model',
      JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
      404,
      'model_not_found',
    ],
  ])('%s', async (_name, body, status, code) => {
    const res = await post('/v1/chat/completions', body);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { message: expect.any(String), type: expect.any(String), code } });
  });

  test('a body over the limit is refused with 413, declared or chunked', async () => {
    const declared = await post('/v1/chat/completions', Buffer.alloc(LIMIT + 1, ' '));
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('body_too_large');
    const chunked = await chunkedPost(LIMIT * 4);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({
      error: { code: 'body_too_large', type: 'invalid_request_error' },
    });
  });

  test('unknown endpoint 404, wrong method 405, both OpenAI-shaped', async () => {
    const unknown = await post('/v1/images/generations', good);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_endpoint');
    const res = await fetch(`${sidecar.url}/v1/chat/completions`);
    expect(res.status).toBe(405);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  test('a client cannot make the sidecar call another URL', async () => {
    const res = await post('/v1/chat/completions/../../../evil?x=http://169.254.169.254/', good);
    expect(res.status).toBe(404);
    const abs = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], base_url: 'http://127.0.0.1:1/' }),
      { host: 'evil.example' },
    );
    expect(abs.status).toBe(200);
    expect(up.requests.at(-1)!.path).toBe('/v1/chat/completions');
  });

  test('the SDK sees typed errors, and the sidecar keeps serving', async () => {
    const err = await openai.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const before = up.requests.length;
    const c = await openai.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'still here?' }],
    });
    expect(c.choices[0]!.message.content).toBe('reply from up to up-model');
    expect(up.requests.length).toBe(before + 1);
  });
});
