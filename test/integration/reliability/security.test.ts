/**
 * Security properties of the sidecar, against real servers: no open proxy, loopback-only by default, no secret
 * or prompt on the admin port or in the logs, one namespace's key cannot open another's credentials, and Redis
 * with AUTH and TLS (a real TLS listener with a generated CA) carries tables and usage.
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Redis } from 'ioredis';
import { compile } from '../../../core/api/compile.js';
import { sealCredential } from '../../../core/crypto/seal.js';
import { RedisStore } from '../../../operator/redis-store.js';
import { parseSidecarConfig } from '../../../sidecar/config.js';
import { RedisTableStore } from '../../../sidecar/redis-table-store.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { SidecarTelemetry } from '../../../telemetry/sidecar-telemetry.js';
import { startSidecarProcess } from '../e2e/cli-process.js';
import {
  DATA_KEY,
  NS,
  backend,
  client,
  publish,
  redisClient,
  route,
  secretOf,
  startTestSidecar,
  tableOf,
  fixedRoute,
} from '../sidecar/support.js';

const PROMPT = `prompt-text-${randomBytes(6).toString('hex')}`;

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let evil: FakeUpstream;
let sidecar: Sidecar;
const logs: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  evil = await startFakeUpstream({ name: 'evil' });
  await publish(r, tableOf(fixedRoute(up.baseURL)));
  sidecar = await startTestSidecar(redis.url, { log: (m) => logs.push(m) });
  await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'sidecar ready' });
});

afterAll(async () => {
  await sidecar?.close();
  await up?.close();
  await evil?.close();
  r?.disconnect();
  await redis?.stop();
});

/** One raw HTTP/1.1 exchange (so the request target and Host are exactly what a hostile client writes). */
function raw(url: string, head: string, body = ''): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const s = connect(Number(u.port), u.hostname);
    const timer = setTimeout(() => s.destroy(new Error(`no answer to ${head.split('\r\n')[0]}`)), 5000);
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    s.write(head + body);
  });
}

describe('no open proxy', () => {
  test('request target, Host, X-Forwarded-*, and model cannot move the upstream host or path', async () => {
    up.reset();
    const evilHost = `127.0.0.1:${evil.port}`;
    const body = (model = 'm') => JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] });
    const head = (target: string, b: string, extra = '') =>
      `POST ${target} HTTP/1.1\r\nHost: ${evilHost}\r\nX-Forwarded-Host: ${evilHost}\r\nX-Forwarded-Proto: http\r\n` +
      `X-Original-URL: /v1/embeddings\r\nX-Rewrite-URL: /admin\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(b)}\r\n${extra}Connection: close\r\n\r\n`;
    const targets = [
      `http://${evilHost}/v1/chat/completions`,
      `http://${evilHost}/v1/../admin`,
      '/v1/chat/completions/../../admin',
      '/v1/%2e%2e/admin/chat/completions',
      '/v1/chat/completions?url=http://evil.example/',
      `//${evilHost}/v1/chat/completions`,
      '/v1/chat/completions',
    ];
    const outcomes: string[] = [];
    for (const t of targets) {
      const res = await raw(sidecar.url, head(t, body()), body());
      outcomes.push(`${t} -> ${res.status}`);
      expect(res.status).toBeLessThan(500);
    }
    for (const model of [`http://${evilHost}/v1`, '../../admin', `m@${evilHost}`, '/etc/passwd']) {
      const res = await raw(sidecar.url, head('/v1/chat/completions', body(model)), body(model));
      outcomes.push(`model ${model} -> ${res.status}`);
      expect(res.status).toBe(404);
    }
    expect(evil.requests).toHaveLength(0);
    expect(up.requests.length).toBeGreaterThan(0);
    for (const q of up.requests) {
      expect(q.path).toBe('/v1/chat/completions');
      expect(q.headers.host).toBe(`127.0.0.1:${up.port}`);
      expect(q.headers['x-forwarded-host']).toBeUndefined();
      expect(q.headers['x-original-url']).toBeUndefined();
      expect((q.body as { model: string }).model).toBe('up-model');
    }
    console.log(`open-proxy probes: ${outcomes.join('; ')}; upstream saw ${up.requests.length}, evil saw 0`);
  });
});

describe('listening and admin output', () => {
  test('the API and admin ports default to 127.0.0.1; not reachable on another interface', async () => {
    const c = parseSidecarConfig(['--redis', redis.url, '--namespace', NS], {});
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 15500 });
    expect(c.admin).toEqual({ host: '127.0.0.1', port: 15501 });
    expect(new URL(sidecar.url).hostname).toBe('127.0.0.1');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (external) {
      for (const u of [sidecar.url, sidecar.adminUrl!]) {
        const err = await new Promise<string>((resolve) => {
          const s = connect(Number(new URL(u).port), external);
          s.on('connect', () => {
            s.destroy();
            resolve('connected');
          });
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
        expect(err).toBe('ECONNREFUSED');
      }
    }
  });

  test('/debug/tables, /metrics and the logs hold no credential and no prompt', async () => {
    const openai = client(sidecar);
    await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: PROMPT }] });
    let streamed = '';
    for await (const ch of await openai.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    }))
      streamed += ch.choices[0]?.delta.content ?? '';
    expect(streamed).toContain('reply from up');
    // The upstream got the credential (so it was there to leak), and the prompt.
    expect(up.requests.at(-1)!.headers.authorization).toBe(`Bearer ${secretOf('up')}`);
    const sealed = (
      JSON.parse((await r.get(`mr:{${NS}}:table:main`))!) as { backends: { auth: { sealed: { data: string } } }[] }
    ).backends[0]!.auth.sealed.data;
    const outputs = {
      debug: await (await fetch(`${sidecar.adminUrl}/debug/tables`)).text(),
      metrics: await (await fetch(`${sidecar.adminUrl}/metrics`)).text(),
      logs: logs.join('\n'),
    };
    for (const [where, text] of Object.entries(outputs)) {
      for (const needle of [secretOf('up'), sealed, PROMPT, 'Bearer ']) {
        if (text.includes(needle)) throw new Error(`${where} contains ${needle.slice(0, 12)}...`);
      }
    }
    expect(outputs.debug).toContain('"sealed": true');
  });
});

describe('traces', () => {
  test('spans of JSON and streamed calls hold no credential and no prompt (content tracing off by default)', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const traced = await startTestSidecar(redis.url, {
      observer: (registry) => new SidecarTelemetry({ registry, namespace: NS, tracing: true }),
    });
    try {
      await waitFor(() => traced.store.ready(), { timeoutMs: 5000, message: 'traced sidecar ready' });
      const openai = client(traced);
      await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: PROMPT }] });
      for await (const _ of await openai.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: PROMPT }],
        stream: true,
      }))
        void _;
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans();
      expect(spans.length).toBeGreaterThan(2);
      expect(up.requests.at(-1)!.headers.authorization).toBe(`Bearer ${secretOf('up')}`);
      const dump = JSON.stringify(
        spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      );
      for (const needle of [secretOf('up'), PROMPT, 'Bearer ']) expect(dump).not.toContain(needle);
    } finally {
      await traced.close();
      await provider.shutdown();
      trace.disable();
      context.disable();
    }
  });
});

describe('credentials across namespaces', () => {
  test("a sidecar with namespace A's key cannot open a credential sealed for namespace B", async () => {
    const keyB = randomBytes(32);
    const spy = await startFakeUpstream({ name: 'spy' });
    try {
      const t = compile(
        route('cross', {
          match: { models: ['cross'] },
          backends: [backend('b-backend', spy.baseURL)],
          strategy: { fixed: { backend: 'b-backend' } },
        }),
        { seal: (ref) => sealCredential(secretOf(ref.name, ref.key), keyB) },
      );
      await publish(r, t);
      await waitFor(() => sidecar.store.current().some((x) => x.route.name === 'cross'), {
        timeoutMs: 5000,
        message: 'cross table loaded',
      });
      const res = await fetch(`${sidecar.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'cross', messages: [{ role: 'user', content: 'x' }] }),
      });
      const err = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(res.status).toBe(502);
      expect(err.code).toBe('credential_unavailable');
      expect(err.message).toMatch(/sealed under key [0-9a-f]{16}, this sidecar holds [0-9a-f]{16}/);
      // The backend is never called: no request, so no key (right or wrong) ever leaves the pod.
      expect(spy.requests).toHaveLength(0);
      expect(logs.join('\n')).not.toContain(secretOf('b-backend'));
      expect(DATA_KEY.equals(keyB)).toBe(false);
    } finally {
      await spy.close();
    }
  });
});

describe('Redis with AUTH and TLS', () => {
  let secure: RedisServer;
  let caFile: string;
  const password = `pw-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    secure = await startRedis({ password, tls: true });
    caFile = join(tmpdir(), `modelroute-redis-ca-${process.pid}.pem`);
    writeFileSync(caFile, secure.ca!);
  });
  afterAll(async () => {
    await secure?.stop();
    rmSync(caFile, { force: true });
  });

  const tlsClient = () => {
    const c = new Redis(secure.url, { tls: { ca: secure.ca! }, maxRetriesPerRequest: 1 });
    c.on('error', () => undefined);
    return c;
  };

  test('wrong password and unknown CA are refused', async () => {
    const refusal = async (c: Redis): Promise<string> => {
      const errors: string[] = [];
      c.on('error', (e: Error) => errors.push(e.message));
      await c.connect().catch((e: Error) => errors.push(e.message));
      const why = await waitFor(() => errors.find((m) => !/Connection is closed/.test(m)), {
        timeoutMs: 5000,
        message: () => `a refusal; got ${errors.join(' | ')}`,
      });
      expect(c.status).not.toBe('ready');
      c.disconnect();
      return why;
    };
    const once = { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true };
    expect(await refusal(new Redis(secure.url, once))).toMatch(/self[- ]signed|unable to verify|certificate/i);
    const wrong = new Redis(secure.url.replace(password, 'wrong'), { ...once, tls: { ca: secure.ca! } });
    expect(await refusal(wrong)).toMatch(/WRONGPASS|invalid username-password/i);
  });

  test("the operator's store writes and the sidecar's store reads over rediss:// with the CA", async () => {
    const writer = tlsClient();
    const [reader, subscriber] = [tlsClient(), tlsClient()];
    const store = new RedisTableStore({ redis: reader, subscriber, namespace: NS, checkIntervalMs: 60_000 });
    try {
      await store.start();
      const t = tableOf(
        route('tls', {
          match: { models: ['t'] },
          backends: [backend('up', up.baseURL)],
          strategy: { fixed: { backend: 'up' } },
        }),
      );
      await new RedisStore(writer).publish(t);
      // The event (pub/sub over TLS) brings it without a periodic check.
      await waitFor(() => store.current().find((x) => x.tableVersion === t.tableVersion), {
        timeoutMs: 5000,
        message: 'table over TLS',
      });
    } finally {
      await store.close();
      for (const c of [writer, reader, subscriber]) c.disconnect();
    }
  });

  /** A sidecar process on rediss:// answers from a table published over TLS, and its usage reaches Redis. */
  async function servesOverTLS(how: { env?: Record<string, string>; args?: string[] }): Promise<void> {
    const writer = tlsClient();
    up.reset();
    const proc = await startSidecarProcess({
      redisURL: secure.url,
      namespace: NS,
      env: { ...how.env, MODELROUTE_DATA_KEY: DATA_KEY.toString('base64') },
      ...(how.args && { args: how.args }),
    });
    try {
      const t = tableOf(fixedRoute(up.baseURL));
      await writer.del(`mr:{${NS}}:usage`);
      await publish(writer, t);
      const res = await waitFor(
        async () => {
          const x = await fetch(`${proc.ready.baseURL}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
          });
          return x.status === 200 ? x : undefined;
        },
        { timeoutMs: 15_000, message: () => `sidecar over TLS answering; logs:\n${proc.logs.join('\n')}` },
      );
      expect(res.headers.get('x-modelroute-table-version')).toBe(t.tableVersion);
      const sent = up.totalUsage();
      // Usage reaches Redis over the same TLS connection.
      await waitFor(
        async () => {
          const h = await writer.hgetall(`mr:{${NS}}:usage`);
          return Object.entries(h).some(([k, v]) => k.includes('input') && Number(v) >= sent.input);
        },
        { timeoutMs: 10_000, message: 'usage over TLS' },
      );
      expect(proc.logs.join('\n')).not.toContain(password);
    } finally {
      await proc.stop();
      writer.disconnect();
    }
  }

  test('the sidecar process serves from rediss:// given the CA through NODE_EXTRA_CA_CERTS', async () => {
    await servesOverTLS({ env: { NODE_EXTRA_CA_CERTS: caFile } });
  }, 90_000);

  test('the sidecar process serves from rediss:// given the CA through --redis-ca (or MODELROUTE_REDIS_CA_FILE)', async () => {
    await servesOverTLS({ args: [`--redis-ca=${caFile}`] });
    await servesOverTLS({ env: { MODELROUTE_REDIS_CA_FILE: caFile } });
  }, 90_000);

  test('without the CA the sidecar process cannot reach rediss://; an unreadable --redis-ca is a config error', async () => {
    const blind = await startSidecarProcess({
      redisURL: secure.url,
      namespace: NS,
      env: { MODELROUTE_DATA_KEY: DATA_KEY.toString('base64') },
    });
    try {
      await waitFor(() => blind.logs.some((l) => /self[- ]signed|unable to verify|certificate/i.test(l)), {
        timeoutMs: 10_000,
        message: () => `a certificate error; logs:\n${blind.logs.join('\n')}`,
      });
      const res = await fetch(`${blind.ready.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(503);
    } finally {
      await blind.stop();
    }
    // A config error: exit 2 at once, every problem named (no connection is tried).
    const missing = join(tmpdir(), `no-such-ca-${process.pid}.pem`);
    const run = promisify(execFile);
    const err = (await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        'sidecar',
        `--redis=${secure.url}`,
        `--namespace=${NS}`,
        `--redis-ca=${missing}`,
      ],
      { cwd: fileURLToPath(new URL('../../../', import.meta.url)), timeout: 30_000 },
    ).catch((e: unknown) => e)) as { code?: number; stderr?: string };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(`--redis-ca: cannot read '${missing}': ENOENT`);
  }, 90_000);
});
