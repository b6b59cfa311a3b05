/**
 * Fan-out (a program, not a test): N simulated sidecars on one Redis, each the sidecar's own table watcher
 * (sidecar/redis-table-store.ts with a command and a subscriber connection, as startSidecar makes them), no
 * HTTP. Measures one update reaching all of them (p50/p99 over watchers and updates) against one watcher
 * alone, and what they cost Redis at rest (INFO cpu delta, connected clients) against Redis idle.
 * All watchers live in this one process, so fan-out latency includes this process working through N reads
 * and validations on one core; in a cluster each sidecar does its own on its own pod.
 *
 * Usage: tsx bench/fanout.ts [--smoke] [--watchers 1000] [--updates 5] [--rest-seconds 10] [--result FILE]
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { RoutingTable } from '../core/api/types.js';
import { RedisStore } from '../operator/redis-store.js';
import { RedisTableStore } from '../sidecar/redis-table-store.js';
import { startRedis, waitFor } from '../test/helpers/control-plane.js';
import { compile } from '../core/api/compile.js';
import { figure } from './lib/report.js';
import { runSection } from './lib/section.js';
import { summary } from './lib/stats.js';
import { benchRoute, info } from './lib/stack.js';

const NS = 'bench-fan';

function connect(url: string): Redis {
  const r = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => Math.min(n * 100, 1_000),
  });
  r.on('error', () => undefined);
  return r;
}

interface Watcher {
  store: RedisTableStore;
  redis: Redis;
  subscriber: Redis;
  /** version -> when this watcher's snapshot first held it. */
  seen: Map<string, number>;
}

async function startWatcher(url: string): Promise<Watcher> {
  const redis = connect(url);
  const subscriber = connect(url);
  const seen = new Map<string, number>();
  const store = new RedisTableStore({
    redis,
    subscriber,
    namespace: NS,
    startTimeoutMs: 30_000,
    hooks: {
      changed: (tables) => {
        const now = performance.now();
        for (const t of tables) if (!seen.has(t.tableVersion)) seen.set(t.tableVersion, now);
      },
    },
  });
  await store.start();
  return { store, redis, subscriber, seen };
}

async function stopWatcher(w: Watcher): Promise<void> {
  await w.store.close();
  w.redis.disconnect();
  w.subscriber.disconnect();
}

const cpuOf = (i: Record<string, string>) => Number(i.used_cpu_user) + Number(i.used_cpu_sys);

/** Redis CPU seconds per wall second over `seconds`, and the clients connected at the end. */
async function redisAtRest(client: Redis, seconds: number): Promise<{ cpuShare: number; clients: number }> {
  const a = await info(client, 'cpu');
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const b = await info(client, 'cpu');
  const wall = (performance.now() - t0) / 1000;
  return { cpuShare: (cpuOf(b) - cpuOf(a)) / wall, clients: Number((await info(client, 'clients')).connected_clients) };
}

/** Publishes a new table and resolves with each watcher's delay until it used it (ms). */
async function update(store: RedisStore, watchers: Watcher[], rev: number): Promise<number[]> {
  const table: RoutingTable = compile(benchRoute(NS, 'fan', 'http://127.0.0.1:9', { rev }));
  const t0 = performance.now();
  await store.publish(table);
  const v = table.tableVersion;
  await waitFor(() => watchers.every((w) => w.seen.has(v)), {
    timeoutMs: 60_000,
    intervalMs: 5,
    message: `all ${watchers.length} watchers at ${v}`,
  });
  return watchers.map((w) => w.seen.get(v)! - t0);
}

await runSection('fanout', '6. Fan-out (N table watchers on one Redis)', async (ctx) => {
  const n = Number(ctx.arg('watchers') ?? (ctx.smoke ? 20 : 1000));
  const updates = Number(ctx.arg('updates') ?? (ctx.smoke ? 2 : 5));
  const restSeconds = Number(ctx.arg('rest-seconds') ?? (ctx.smoke ? 2 : 10));
  const nofile = Number(execFileSync('bash', ['-c', 'ulimit -n']).toString().trim());
  // Two sockets per watcher, plus Redis' own; leave room for everything else.
  const watchersWanted = n;
  const fit = Math.min(n, Math.floor((nofile - 200) / 2));
  if (fit < n) ctx.note(`ulimit -n is ${nofile}: ${fit} watchers instead of ${n}.`);
  const server = await startRedis();
  const client = new Redis(server.url);
  const store = new RedisStore(client);
  const watchers: Watcher[] = [];
  try {
    await store.publish(compile(benchRoute(NS, 'fan', 'http://127.0.0.1:9', { rev: 0 })));
    const idle = await redisAtRest(client, restSeconds);

    // Baseline: one watcher alone.
    const first = await startWatcher(server.url);
    watchers.push(first);
    const alone: number[] = [];
    for (let u = 1; u <= updates; u++) alone.push(...(await update(store, [first], u)));

    const t0 = performance.now();
    for (let i = 1; i < fit; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, fit - i) }, () => startWatcher(server.url)));
      watchers.push(...batch);
    }
    const startSeconds = (performance.now() - t0) / 1000;
    const rest = await redisAtRest(client, restSeconds);

    const cpu0 = process.cpuUsage();
    const r0 = cpuOf(await info(client, 'cpu'));
    const all: number[] = [];
    for (let u = 1; u <= updates; u++) all.push(...(await update(store, watchers, 100 + u)));
    const redisCpuPerUpdate = (cpuOf(await info(client, 'cpu')) - r0) / updates;
    const cpu = process.cpuUsage(cpu0);
    const s1 = summary(alone);
    const sN = summary(all);
    for (const p of ['p50', 'p99'] as const) {
      ctx.figures.push(
        figure(`one update to all ${watchers.length} watchers, ${p}`, sN[p], 'ms', {
          baseline: { name: '1 watcher alone', value: s1[p] },
        }),
      );
    }
    ctx.figures.push(
      figure(`one update to all ${watchers.length} watchers, max`, sN.max, 'ms', {
        baseline: { name: '1 watcher alone', value: s1.max },
      }),
    );
    ctx.figures.push(
      figure(`Redis CPU at rest with ${watchers.length} watchers`, rest.cpuShare * 100, '% of a core', {
        baseline: { name: 'Redis idle', value: idle.cpuShare * 100 },
      }),
    );
    ctx.figures.push(
      figure(`Redis connections at rest`, rest.clients, 'clients', {
        baseline: { name: 'Redis idle', value: idle.clients },
      }),
    );
    ctx.figures.push(figure('Redis CPU per update (all watchers read it)', redisCpuPerUpdate * 1000, 'ms'));
    ctx.note(
      `${watchers.length} watchers (of ${watchersWanted} asked), each two ioredis connections (${watchers.length * 2} sockets, ulimit -n ${nofile}) in this one process; started in ${startSeconds.toFixed(1)} s. ` +
        `${updates} updates; latency pooled over watchers x updates. The simulator used ${((cpu.user + cpu.system) / 1e6 / updates).toFixed(2)} CPU s per update: with every watcher on one core this, not Redis, sets the tail.`,
    );
    ctx.note(`At rest, each watcher runs its 1 s index check (HGETALL); Redis CPU measured over ${restSeconds} s.`);
    return { watchers: watchers.length, alone: s1, all: sN, idle, rest, redisCpuPerUpdate, startSeconds };
  } finally {
    for (let i = 0; i < watchers.length; i += 100) await Promise.all(watchers.slice(i, i + 100).map(stopWatcher));
    client.disconnect();
    await server.stop();
  }
});
