/**
 * Usage recorded while Redis is down survives the sidecar's exit: a sidecar process serves with Redis killed, is
 * stopped with SIGTERM, and saves its unacknowledged batches next to the state file; Redis comes back and the
 * next sidecar process on the same state file replays them. Redis then holds exactly what the upstream reported,
 * and a replay of the same file again (as after a crash between applying and deleting it) changes nothing.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { usageFileOf } from '../../../sidecar/sidecar.js';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { makeTempDir } from '../../helpers/processes.js';
import { startSidecarProcess } from '../e2e/cli-process.js';
import { DATA_KEY, NS, fixedRoute, publish, redisClient, tableOf } from '../sidecar/support.js';

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let dir: string;
const procs: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  await publish(r, tableOf(fixedRoute(up.baseURL)));
  dir = makeTempDir('usage-on-exit');
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await up?.close();
  r?.disconnect();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function sidecarOn(stateFile: string) {
  const p = await startSidecarProcess({
    redisURL: redis.url,
    namespace: NS,
    env: { MODELROUTE_DATA_KEY: DATA_KEY.toString('base64') },
    args: [`--state-file=${stateFile}`],
  });
  procs.push(p);
  return p;
}

async function counted(): Promise<{ requests: number; input: number; output: number; cost: number }> {
  const h = await r.hgetall(`mr:{${NS}}:usage`);
  const v = (m: string) => Number(h[`route:main|${m}`] ?? 0);
  return { requests: v('requests'), input: v('input_tokens'), output: v('output_tokens'), cost: v('cost_microusd') };
}

/** What Redis must hold for every request the upstream answered (pricing 1 and 2 per million). */
function expected(): { requests: number; input: number; output: number; cost: number } {
  const u = up.totalUsage();
  return { requests: up.requests.length, input: u.input, output: u.output, cost: u.input + 2 * u.output };
}

async function ask(baseURL: string, i: number): Promise<void> {
  const stream = i % 2 === 0;
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `q${i} ${'w '.repeat(i)}` }], stream }),
  });
  const text = await res.text();
  const whole = stream
    ? text.includes('"content":"up-model"') && text.includes('[DONE]')
    : text.includes('reply from up');
  if (res.status !== 200 || !whole) throw new Error(`request ${i}: ${res.status} ${text}`);
}

describe('usage unflushed at exit', () => {
  test('SIGTERM while Redis is down saves it; the next start replays it exactly once', async () => {
    const stateFile = `${dir}/tables.json`;
    const usageFile = usageFileOf(stateFile);
    const first = await sidecarOn(stateFile);
    await waitFor(() => existsSync(stateFile), { timeoutMs: 10_000, message: 'state file written' });
    for (let i = 0; i < 4; i++) await ask(first.ready.baseURL, i);
    await waitFor(async () => (await counted()).requests === 4, { timeoutMs: 10_000, message: 'usage flushed' });

    await redis.kill();
    for (let i = 4; i < 24; i++) await ask(first.ready.baseURL, i);
    await first.stop();
    expect(await first.exited).toBe(0);
    expect(first.logs.join('\n')).toMatch(/usage batch\(es\) saved to/);
    const saved = JSON.parse(readFileSync(usageFile, 'utf8')) as {
      batches: { writer: string; seq: number; fields: [string, number][] }[];
    };
    expect(saved.batches.length).toBeGreaterThanOrEqual(1);
    const savedRequests = saved.batches
      .flatMap((b) => b.fields)
      .filter(([f]) => f === 'route:main|requests')
      .reduce((n, [, v]) => n + v, 0);
    expect(savedRequests).toBe(20);
    const backup = `${usageFile}.copy`;
    copyFileSync(usageFile, backup);

    await redis.restart();
    // Nothing of the outage is in Redis until a sidecar replays it.
    expect((await counted()).requests).toBe(4);
    const second = await sidecarOn(stateFile);
    await waitFor(() => !existsSync(usageFile), { timeoutMs: 10_000, message: 'usage file replayed and removed' });
    await waitFor(async () => (await counted()).requests === 24, { timeoutMs: 5000, message: 'replayed counts' });
    expect(await counted()).toEqual(expected());
    // The new sidecar still serves and counts its own requests (its own writer id).
    for (let i = 24; i < 28; i++) await ask(second.ready.baseURL, i);
    await waitFor(async () => (await counted()).requests === 28, { timeoutMs: 10_000, message: 'new usage' });
    await second.stop();
    expect(existsSync(usageFile)).toBe(false);
    expect(await counted()).toEqual(expected());

    // The same batches again (a crash after Redis applied them, before the file was removed): skipped by sequence.
    copyFileSync(backup, usageFile);
    const third = await sidecarOn(stateFile);
    await waitFor(() => !existsSync(usageFile), { timeoutMs: 10_000, message: 'stale file replayed' });
    await third.stop();
    expect(await counted()).toEqual(expected());
    console.log(
      `usage on exit: ${up.requests.length} requests (20 while Redis was down, ${saved.batches.length} batch(es) saved); ` +
        `Redis ${JSON.stringify(await counted())}, upstream ${JSON.stringify(expected())}`,
    );
  }, 120_000);
});
