/**
 * Fuzzes the sidecar's API with generated requests (seeded: FUZZ_SEED replays a run). Whatever a client
 * sends, the sidecar answers: never a crash, never a 5xx of its own (the upstream here always answers 200, so
 * any 5xx is the sidecar's), every error in OpenAI's shape, and the upstream only ever sees fixed paths.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { Agent } from 'undici';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { FIELDS, Prng, corrupt, deepNesting, fuzzSeed, randomJson, randomString } from '../../helpers/fuzz.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { client, publish, redisClient, startTestSidecar, tableOf, fixedRoute } from '../sidecar/support.js';

const LIMIT = 256 * 1024;
const BODY_CASES = Number(process.env.FUZZ_CASES ?? 3000);
const HEADER_CASES = Number(process.env.FUZZ_HEADER_CASES ?? 400);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 25_000);
const PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses'];
const ODD_PATHS = [
  '/v1/models',
  '/v1/chat/completions/../../admin',
  '/v1//chat/completions',
  '/',
  '/v1/files',
  '/v1/chat/completions?model=http://x',
];
const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  '',
];

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let sidecar: Sidecar;
let agent: Agent;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  await publish(r, tableOf(fixedRoute(up.baseURL)));
  sidecar = await startTestSidecar(redis.url, { bodyLimit: LIMIT });
  await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'sidecar ready' });
  agent = new Agent({ connections: 8 });
});

afterAll(async () => {
  await agent?.close();
  await sidecar?.close();
  await up?.close();
  r?.disconnect();
  await redis?.stop();
});

interface Case {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
  kind: string;
}

const validBody = (p: Prng): Record<string, unknown> => ({
  model: 'm',
  messages: [{ role: 'user', content: randomString(p) }],
});

/** One generated request; `kind` names the generator, for the failure message. */
function makeCase(p: Prng): Case {
  const path = p.chance(0.9) ? p.pick(PATHS) : p.pick(ODD_PATHS);
  const method = p.chance(0.92) ? 'POST' : p.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
  const contentType = p.chance(0.8) ? 'application/json' : p.pick(CONTENT_TYPES);
  const kinds = ['random', 'wrong-type', 'deep', 'huge', 'utf8', 'duplicate', 'corrupt', 'valid'] as const;
  const kind = p.pick(kinds);
  let body: Buffer;
  switch (kind) {
    case 'random': {
      const v = p.chance(0.7)
        ? { model: p.chance(0.5) ? 'm' : randomJson(p, 1), ...(randomJson(p) as object) }
        : randomJson(p);
      body = Buffer.from(JSON.stringify(v) ?? 'null');
      break;
    }
    case 'wrong-type': {
      const b = validBody(p);
      b[p.pick(FIELDS)] = randomJson(p, 2);
      if (p.chance(0.3)) b.stream = true;
      body = Buffer.from(JSON.stringify(b));
      break;
    }
    case 'deep': {
      // Deeper than any recursive JSON walk survives; where it sits decides who must cope with it.
      const depth = p.pick([64, 1000, 10_000, 50_000]);
      const nest = p.chance(0.5) ? deepNesting(depth) : deepNesting(depth, '{"a":', '}').replace(/\{"a":\}/, '{"a":1}');
      const at = p.pick(['top', 'extra', 'content', 'messages']);
      body = Buffer.from(
        at === 'top'
          ? nest
          : at === 'extra'
            ? `{"model":"m","messages":[{"role":"user","content":"x"}],"metadata":${nest}}`
            : at === 'content'
              ? `{"model":"m","messages":[{"role":"user","content":${nest}}]}`
              : `{"model":"m","messages":${nest}}`,
      );
      break;
    }
    case 'huge': {
      const n = p.pick([LIMIT - 200, LIMIT + 1, 100_000, 2 * LIMIT]);
      const s = 'x'.repeat(Math.max(0, n));
      body = Buffer.from(
        p.chance(0.5)
          ? JSON.stringify({ model: s.slice(0, 5000), messages: [] })
          : JSON.stringify({ ...validBody(p), user: s }),
      );
      break;
    }
    case 'utf8': {
      const text = JSON.stringify(validBody(p));
      const at = text.indexOf('content') + 10;
      body = Buffer.concat([
        Buffer.from(text.slice(0, at)),
        p.pick([Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), p.bytes(6)]),
        Buffer.from(text.slice(at)),
      ]);
      if (p.chance(0.3))
        body = Buffer.concat([
          Buffer.from('{"model":"'),
          p.bytes(4),
          Buffer.from('","messages":[{"role":"user","content":"x"}]}'),
        ]);
      break;
    }
    case 'duplicate':
      body = Buffer.from(
        p.pick([
          '{"model":"m","model":42,"messages":[{"role":"user","content":"x"}]}',
          '{"model":42,"model":"m","messages":[{"role":"user","content":"x"}]}',
          '{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream":"yes"}',
          '{"model":"m","messages":[],"messages":[{"role":"user","content":"x"}]}',
          '{"model":"m","messages":[{"role":"user","role":7,"content":"x"}]}',
          '{"__proto__":{"model":"m"},"messages":[{"role":"user","content":"x"}]}',
        ]),
      );
      break;
    case 'corrupt':
      body = corrupt(p, JSON.stringify({ ...validBody(p), stream: p.chance(0.3) }));
      break;
    default:
      body = Buffer.from(
        JSON.stringify({
          ...validBody(p),
          stream: p.chance(0.3),
          ...(p.chance(0.3) && { [randomString(p, 8)]: randomJson(p) }),
        }),
      );
  }
  return { method, path, contentType, body, kind };
}

type ErrorShape = { error?: { message?: unknown; type?: unknown; code?: unknown } };

function openAIShaped(text: string): boolean {
  try {
    const e = (JSON.parse(text) as ErrorShape).error;
    return typeof e?.message === 'string' && typeof e.type === 'string' && typeof e.code === 'string';
  } catch {
    return false;
  }
}

describe('fuzzing the API', () => {
  test(
    'generated bodies: no 5xx of its own, every error OpenAI-shaped',
    async () => {
      const seed = fuzzSeed();
      const p = new Prng(seed);
      const started = Date.now();
      const tally = new Map<string, number>();
      const problems: string[] = [];
      let ran = 0;
      const worker = async () => {
        while (ran < BODY_CASES && Date.now() - started < BUDGET_MS) {
          const i = ran++;
          const c = makeCase(p);
          const res = await agent
            .request({
              origin: sidecar.url,
              path: c.path,
              method: c.method as 'POST',
              headers: c.contentType ? { 'content-type': c.contentType } : {},
              ...(c.method !== 'GET' && { body: c.body }),
              signal: AbortSignal.timeout(5000),
            })
            .catch((err: Error) => err);
          if (res instanceof Error) {
            problems.push(`#${i} ${c.kind} ${c.method} ${c.path}: ${res.message}`);
            continue;
          }
          const text = await res.body.text();
          const key = `${res.statusCode}`;
          tally.set(key, (tally.get(key) ?? 0) + 1);
          if (res.statusCode >= 500)
            problems.push(`#${i} ${c.kind} ${c.method} ${c.path}: ${res.statusCode} ${text.slice(0, 200)}`);
          else if (res.statusCode >= 400 && !openAIShaped(text))
            problems.push(`#${i} ${c.kind}: ${res.statusCode} not OpenAI-shaped: ${text.slice(0, 200)}`);
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      console.log(
        `fuzz-api seed=${seed}: ${ran} body cases in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries(tally))}`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      expect(ran).toBeGreaterThanOrEqual(Math.min(BODY_CASES, 1000));
      // The upstream only ever saw the fixed endpoint paths, with the table's model.
      for (const q of up.requests) {
        expect(PATHS).toContain(q.path);
        expect((q.body as { model?: unknown }).model).toBe('up-model');
      }
      const ok = await client(sidecar).chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(ok.choices[0]!.message.content).toBe('reply from up to up-model');
    },
    BUDGET_MS + 90_000,
  );

  test(
    'generated headers and request lines on a raw socket: no 5xx, every answer OpenAI-shaped',
    async () => {
      const p = new Prng(fuzzSeed() + 1);
      const good = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';
      const problems: string[] = [];
      const tally = new Map<string, number>();
      const started = Date.now();
      let ran = 0;
      const worker = async () => {
        while (ran < HEADER_CASES && Date.now() - started < BUDGET_MS) {
          const i = ran++;
          const { head, body, kind } = rawCase(p, good);
          const answer = await rawExchange(sidecar.url, Buffer.concat([Buffer.from(head), Buffer.from(body)]));
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
          tally.set(`${kind}:${status}`, (tally.get(`${kind}:${status}`) ?? 0) + 1);
          const text = answer.slice(answer.indexOf('\r\n\r\n') + 4);
          if (status === 0) problems.push(`#${i} ${kind}: no answer: ${JSON.stringify(head.slice(0, 120))}`);
          else if (status >= 500) problems.push(`#${i} ${kind}: ${status} ${text.slice(0, 200)}`);
          else if (status >= 400 && !openAIShaped(text))
            problems.push(`#${i} ${kind}: ${status} not OpenAI-shaped: ${JSON.stringify(answer.slice(0, 160))}`);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      console.log(
        `fuzz-api headers: ${ran} raw cases in ${Date.now() - started} ms; ${JSON.stringify(Object.fromEntries(tally))}`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      const ok = await client(sidecar).chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(ok.choices[0]!.message.content).toBe('reply from up to up-model');
    },
    BUDGET_MS + 90_000,
  );
});

function rawCase(p: Prng, good: string): { head: string; body: string; kind: string } {
  const len = Buffer.byteLength(good);
  const base = (extra: string, target = '/v1/chat/completions', cl = `Content-Length: ${len}\r\n`) =>
    `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${cl}${extra}Connection: close\r\n\r\n`;
  const kind = p.pick(['junk-header', 'huge-header', 'many-headers', 'bad-chars', 'smuggle', 'target', 'dup-cl', 'ok']);
  switch (kind) {
    case 'junk-header':
      return {
        kind,
        head: base(
          `${randomString(p, 20).replace(/[\r\n:]/g, '') || 'X'}: ${randomString(p, 60).replace(/[\r\n]/g, '')}\r\n`,
        ),
        body: good,
      };
    case 'huge-header':
      return { kind, head: base(`X-Big: ${'a'.repeat(p.pick([8_000, 17_000, 70_000]))}\r\n`), body: good };
    case 'many-headers':
      return {
        kind,
        head: base(Array.from({ length: p.pick([100, 2500]) }, (_, k) => `X-H${k}: v\r\n`).join('')),
        body: good,
      };
    case 'bad-chars':
      return {
        kind,
        head: base(
          p.pick(['X-A: a\u0000b\r\n', 'X A: b\r\n', 'X-A:\r\n b\r\n', ': empty\r\n', 'X-A: \u00ff\u00fe\r\n']),
        ),
        body: good,
      };
    case 'smuggle':
      return {
        kind,
        head: base(
          p.pick([
            'Transfer-Encoding: chunked\r\n',
            'Transfer-Encoding: gzip, chunked\r\n',
            'Transfer-Encoding: xchunked\r\n',
          ]),
        ),
        body: good,
      };
    case 'target':
      return {
        kind,
        head: base(
          '',
          p.pick([
            'http://169.254.169.254/v1/chat/completions',
            '//evil.example/v1/chat/completions',
            '/v1/chat/completions?x=%ff%fe',
            '/v1/../v1/chat/completions',
            '/v1/chat/completions#frag',
            '/%2e%2e/v1/chat/completions',
          ]),
        ),
        body: good,
      };
    case 'dup-cl':
      return { kind, head: base(`Content-Length: ${len + 1}\r\n`), body: good };
    default:
      return { kind, head: base(`Host: other.example\r\nX-Forwarded-Host: evil.example\r\n`), body: good };
  }
}

/** Writes bytes on a fresh connection and collects everything until the server closes it (3 s at most). */
function rawExchange(url: string, bytes: Buffer): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const s = connect(Number(u.port), u.hostname);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(parts).toString('latin1'));
    };
    const timer = setTimeout(done, 3000);
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', done);
    s.on('close', done);
    s.on('error', done);
    s.write(bytes);
  });
}
