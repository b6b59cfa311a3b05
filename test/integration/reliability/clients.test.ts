/**
 * Client faults against a sidecar process: hundreds of clients that hang up mid-stream (every upstream request
 * must be closed in turn, and memory and descriptors come back), and a reader that stops reading (backpressure
 * must reach the upstream, so the sidecar's memory stays flat instead of buffering the answer).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { backend, publish, redisClient, route, tableOf } from '../sidecar/support.js';
import { startSidecarChild, type SidecarProcess } from './sidecar-process.js';

/** The sidecar's TCP sockets by state and peer (API client, upstream, Redis), from /proc. */
function socketsOf(pid: number): string {
  return JSON.stringify(Object.fromEntries(tallyOf(pid)));
}

/** The sidecar's ESTABLISHED connections to the upstream. */
const upstreamConnections = (pid: number) => tallyOf(pid).get('upstream:01') ?? 0;

function tallyOf(pid: number): Map<string, number> {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`)
      .map((f) => {
        try {
          return /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/fd/${f}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((x): x is string => x !== undefined),
  );
  const port = (a: string) => parseInt(a.split(':')[1]!, 16);
  const tally = new Map<string, number>();
  for (const l of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (!f[9] || !inodes.has(f[9])) continue;
    const peer =
      port(f[2]!) === up.port
        ? 'upstream'
        : port(f[1]!) === Number(new URL(sc.url).port)
          ? 'client'
          : port(f[2]!) === redis.port
            ? 'redis'
            : `other`;
    const k = `${peer}:${f[3]}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
  }
  return tally;
}

const WAVE = 100;
const CLIENTS = Number(process.env.DISCONNECT_CLIENTS ?? 800);

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let sc: SidecarProcess;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  await publish(
    r,
    tableOf(
      route('main', {
        match: { models: ['m'] },
        backends: [backend('up', up.baseURL, { timeouts: { firstByteMs: 10_000, idleMs: 60_000, totalMs: 120_000 } })],
        strategy: { fixed: { backend: 'up' } },
      }),
    ),
  );
  sc = await startSidecarChild(redis.url);
}, 90_000);

afterAll(async () => {
  await sc?.stop();
  await up?.close();
  r?.disconnect();
  await redis?.stop();
});

const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });

/** Opens a stream on a fresh connection, waits for its first chunk, then destroys the connection. */
function hangUpAfterFirstChunk(): Promise<void> {
  const u = new URL(sc.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', agent: false },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      },
    );
    req.setHeader('content-type', 'application/json');
    req.on('error', () => undefined);
    req.setTimeout(20_000, () => reject(new Error('no first chunk')));
    req.end(body);
  });
}

async function warm(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sc.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `warm ${i}` }], stream: i % 2 === 0 }),
    });
    await res.text();
  }
}

describe('client faults', () => {
  test(
    `${CLIENTS} clients hang up mid-stream: the upstream sees every close, memory and fds come back`,
    async () => {
      await warm(50);
      up.reset();
      const rss0 = sc.rssMB();
      const fds0 = sc.fds();
      // Every stream sends one chunk and then waits: only the client's hang-up can end it.
      up.setDefault({ stream: { stallAfterChunks: 1 } });
      const fdsAfterWave: number[] = [];
      const rssAfterWave: number[] = [];
      const upstreamAfterWave: number[] = [];
      const started = Date.now();
      for (let done = 0; done < CLIENTS; done += WAVE) {
        const n = Math.min(WAVE, CLIENTS - done);
        await Promise.all(Array.from({ length: n }, hangUpAfterFirstChunk));
        // Every hang-up of this wave has reached the upstream before the next wave starts.
        await waitFor(() => up.requests.filter((q) => q.closedEarly).length >= done + n, {
          timeoutMs: 10_000,
          message: () => `upstream closes: ${up.requests.filter((q) => q.closedEarly).length}/${done + n}`,
        });
        // Connections still being set up when the hang-ups landed are closed as their connect completes: within
        // moments, not after the 30 s keep-alive timeout.
        upstreamAfterWave.push(upstreamConnections(sc.pid));
        await waitFor(() => upstreamConnections(sc.pid) <= 1, {
          timeoutMs: 3000,
          message: () => `idle upstream connections after wave ${done / WAVE + 1}: ${socketsOf(sc.pid)}`,
        });
        rssAfterWave.push(sc.rssMB());
        fdsAfterWave.push(sc.fds());
      }
      up.setDefault({});
      const rss1 = sc.rssMB();
      console.log(
        `mid-stream hang-ups: ${CLIENTS} clients in ${Date.now() - started} ms, upstream closes ${up.requests.filter((q) => q.closedEarly).length}; ` +
          `RSS ${rss0} then after each wave ${rssAfterWave.join(',')} MB; fds ${fds0} then after each wave ${fdsAfterWave.join(',')}; ` +
          `upstream connections right after each wave ${upstreamAfterWave.join(',')}; ${socketsOf(sc.pid)}`,
      );
      // The upstream connection of each aborted stream is destroyed, and none is opened again for it (undici would
      // reconnect for the aborted request and keep that connection idle; sidecar/upstream-pools.ts closes it), so
      // no idle upstream connection is left after a wave of hang-ups, and descriptors are back to the baseline.
      expect(Math.max(...fdsAfterWave)).toBeLessThanOrEqual(fds0 + 8);
      // Memory: V8 keeps the heap it grew to; later waves may add little (the soak shows the heap floor flat).
      expect(rssAfterWave.at(-1)! - Math.max(rssAfterWave[0]!, rssAfterWave[1]!)).toBeLessThan(25);
      expect(up.requests).toHaveLength(CLIENTS);
      expect(rss1 - rss0).toBeLessThan(100);
      // The sidecar still serves, and sequential calls reuse one keep-alive upstream connection.
      await warm(6);
      expect(upstreamConnections(sc.pid)).toBe(1);
    },
    Math.max(90_000, CLIENTS * 60),
  );

  test('a reader that stops reading: backpressure reaches the upstream, the sidecar does not buffer the answer', async () => {
    up.reset();
    // About 48 MB of SSE if nobody pushed back.
    const word = `${'x'.repeat(1000)} `;
    up.enqueue({ content: word.repeat(40_000), usage: { input: 1, output: 1 } });
    const rss0 = sc.rssMB();
    const u = new URL(sc.url);
    let received = 0;
    const samples: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', agent: false },
        (res) => {
          res.on('data', (c: Buffer) => {
            received += c.length;
            // Read the first bytes, then stop reading for good and watch the sidecar's memory.
            if (received > 64 * 1024) res.pause();
          });
        },
      );
      req.setHeader('content-type', 'application/json');
      req.end(body);
      // A measuring window (not a synchronisation): sample the sidecar's RSS while the reader is stalled.
      const sampler = setInterval(() => samples.push(sc.rssMB()), 200);
      setTimeout(() => {
        clearInterval(sampler);
        req.destroy();
        resolve();
      }, 4000);
      req.on('error', reject);
    });
    await up.requests[0]!.clientClosed;
    const growth = Math.max(...samples) - rss0;
    console.log(
      `slow reader: client took ${Math.round(received / 1024)} KB of ~48 MB; sidecar RSS ${rss0} -> max ${Math.max(...samples)} MB`,
    );
    expect(received).toBeLessThan(8 * 1024 * 1024);
    expect(growth).toBeLessThan(30);
  }, 60_000);
});
