/**
 * Sidecar memory (a program, not a test): RSS of the sidecar process idle, with 1 route, with 1,000 routes
 * loaded from Redis, and across N requests (closed loop, 1 in 10 streaming), beside the minimal proxy of
 * bench/minimal-proxy.ts started the same way (node + tsx) as the baseline. Also: event-loop delay in the
 * sidecar under that load (prom-client's monitorEventLoopDelay gauges on /metrics, reset at every scrape)
 * against the same gauges idle, and Redis memory per route. Whether requests leave anything behind is read, at
 * the end, from the sidecar's live heap after a full GC (a heap snapshot) before and after N/10 more requests;
 * RSS only says it with the GC's sawtooth on top.
 *
 * Usage: tsx bench/memory.ts [--smoke] [--tsx] [--cpu-prof] [--requests 1000000] [--seconds 150] [--routes 1000] [--result FILE]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitFor } from '../test/helpers/control-plane.js';
import { heapSnapshotFlags, liveHeapMB } from '../test/helpers/heap-snapshot.js';
import { buildDist, DIST } from './lib/dist.js';
import { closedLoop } from './lib/load.js';
import { rssMB, spawnNode, stopChild, waitHttp } from './lib/procs.js';
import { figure } from './lib/report.js';
import { runSection } from './lib/section.js';
import { benchRoute, info, metric, startStack } from './lib/stack.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

/** RSS after the process has been quiet for a moment (timers, lazy compilation and GC settle). */
async function settledRss(pid: number, ms = 1500): Promise<number> {
  await sleep(ms);
  return round1(rssMB(pid));
}

await runSection('memory', '3. Memory (sidecar RSS) and event-loop delay', async (ctx) => {
  const smoke = ctx.smoke;
  const requests = Number(ctx.arg('requests') ?? (smoke ? 3_000 : 1_000_000));
  const seconds = Number(ctx.arg('seconds') ?? (smoke ? 8 : 150));
  const routes = Number(ctx.arg('routes') ?? (smoke ? 50 : 1000));
  // The image runs compiled JavaScript; smoke skips the build and runs through tsx.
  const compiled = !smoke && !process.argv.includes('--tsx');
  if (compiled) await buildDist();
  const ns = 'bench-mem';
  // --cpu-prof: a V8 CPU profile of the sidecar, written when it exits (bench/results/*.cpuprofile, git-ignored).
  const prof = process.argv.includes('--cpu-prof');
  // Where the sidecar writes a heap snapshot on SIGUSR2, for its live heap after a full GC.
  const snapshots = mkdtempSync(join(tmpdir(), 'modelroute-bench-heap-'));
  const stack = await startStack(ns, {
    compiled,
    sidecarNodeFlags: [
      ...heapSnapshotFlags(snapshots),
      ...(prof
        ? ['--cpu-prof', '--cpu-prof-dir', 'bench/results', '--cpu-prof-name', 'sidecar-memory.cpuprofile']
        : []),
    ],
  });
  const minPort = await freePort();
  const minimal = spawnNode(
    'minimal',
    [
      compiled ? `${DIST}/bench/lib/minimal-main.js` : 'bench/lib/minimal-main.ts',
      '--port',
      String(minPort),
      '--upstream',
      stack.upstreamURL,
    ],
    {},
    { tsx: !compiled },
  );
  try {
    await waitHttp(`http://127.0.0.1:${minPort}/`);
    const minimalIdle = await settledRss(minimal.pid!);

    const sc = await stack.startSidecar();
    const idle = await settledRss(sc.pid!);
    // V8 heap in use beside RSS: RSS keeps pages the heap has freed, the heap shows what is really held.
    const heapMB = async () =>
      round1(
        (metric(await (await fetch(`${stack.adminURL}/metrics`)).text(), 'nodejs_heap_size_used_bytes') ?? NaN) /
          2 ** 20,
      );
    const heap: Record<string, number> = { idle: await heapMB() };

    await stack.publish(benchRoute(ns, 'bench', stack.upstreamURL, { model: 'bench' }));
    await waitHttp(`${stack.adminURL}/readyz`, 200);
    const one = await settledRss(sc.pid!);
    heap.oneRoute = await heapMB();

    const before = Number((await info(stack.client, 'memory')).used_memory);
    let jsonBytes = 0;
    for (let i = 1; i <= routes; i += 100) {
      const batch = Array.from({ length: Math.min(100, routes + 1 - i) }, (_, j) =>
        stack.publish(benchRoute(ns, `r${i + j}`, stack.upstreamURL)),
      );
      for (const t of await Promise.all(batch)) jsonBytes += Buffer.byteLength(JSON.stringify(t));
    }
    const after = Number((await info(stack.client, 'memory')).used_memory);
    await waitFor(
      async () =>
        ((await (await fetch(`${stack.adminURL}/readyz`)).json()) as { tables: number }).tables === routes + 1,
      { timeoutMs: 60_000, message: `${routes + 1} tables loaded` },
    );
    // Loading 1,000 tables is a burst of allocation; resident memory is read once it has settled (5 s).
    const many = await settledRss(sc.pid!, 5000);
    heap.manyRoutes = await heapMB();

    // Minimal proxy under a short load, so its RSS is compared warm, like the sidecar's.
    await closedLoop({ url: `http://127.0.0.1:${minPort}`, model: 'bench', requests: 20_000, seconds: smoke ? 2 : 5 });
    const minimalWarm = await settledRss(minimal.pid!, 500);

    const metrics = async () => (await fetch(`${stack.adminURL}/metrics`)).text();
    await metrics(); // resets the event-loop histogram
    const samples: { requests: number; rssMB: number }[] = [];
    const load = await closedLoop({
      url: stack.sidecarURL,
      model: 'bench',
      requests,
      seconds,
      streamEvery: 10,
      // Often enough to catch the floor of every GC cycle (a cycle is tens of thousands of requests here).
      every: 500,
      onProgress: (done) => samples.push({ requests: done, rssMB: round1(rssMB(sc.pid!)) }),
    });
    const underLoad = await metrics();
    const rssEnd = round1(rssMB(sc.pid!));
    await sleep(3000);
    const idleMetrics = await metrics();
    const rssAfter = round1(rssMB(sc.pid!));
    heap.afterLoad = await heapMB();
    // Then whether requests leave anything behind: the live heap after a full GC (a heap snapshot) before and
    // after more of them, the program's own objects only (compiled code comes and goes with V8's JIT and its
    // bytecode flushing, which a snapshot's GCs set off). Last, because a snapshot lifts RSS for a while.
    // A first snapshot and a short load after it are not measured: that snapshot's GCs drop what V8 rebuilds
    // on the next requests (flushed bytecode, cleared hidden-class transitions), a one-off step.
    // Each snapshot waits 1.5 s after the load: undici keeps a request's cleared timeout timers in its timer
    // list until its next tick (every 0.5 s), thousands of them (~300 kB) right after a load at 4k rps.
    const moreLoad = (n: number, s: number) =>
      closedLoop({ url: stack.sidecarURL, model: 'bench', requests: n, seconds: s, streamEvery: 10 });
    const live = async () => {
      await sleep(1500);
      return liveHeapMB(sc.pid!, snapshots);
    };
    await live();
    await moreLoad(Math.max(500, Math.round(requests / 40)), Math.max(2, seconds / 20));
    const liveBefore = await live();
    const more = await moreLoad(Math.max(1000, Math.round(requests / 10)), Math.max(5, seconds / 5));
    const liveAfter = await live();
    const liveGrowthPer100k = more.done > 0 ? ((liveAfter.data - liveBefore.data) / more.done) * 100_000 : NaN;

    // Growth of the floor past warm-up: RSS saws up and down by tens of MB with the GC, so one sample against
    // another says where in a cycle each fell. A leak lifts the lowest point; the lowest sample of the last third
    // against that of the first third, per 100k requests between the thirds' middles, is the growth.
    // Warm-up is the first third of the requests: the floor climbs a few MB over the first 200k or so while V8
    // sizes its heap and compiles the hot code, then stays flat (docs/benchmarks.md, the 1M-request run).
    const warm = Math.round(load.done / 3);
    const warmed = [...samples.filter((s) => s.requests >= warm), { requests: load.done, rssMB: rssEnd }];
    const third = Math.max(1, Math.floor(warmed.length / 3));
    const floorOf = (xs: typeof warmed) => ({
      rssMB: Math.min(...xs.map((s) => s.rssMB)),
      requests: ((xs[0]?.requests ?? 0) + (xs.at(-1)?.requests ?? 0)) / 2,
    });
    const early = floorOf(warmed.slice(0, third));
    const late = floorOf(warmed.slice(-third));
    const span = late.requests - early.requests;
    const growthPer100k = warmed.length >= 3 && span > 0 ? ((late.rssMB - early.rssMB) / span) * 100_000 : NaN;
    const peak = Math.max(...samples.map((s) => s.rssMB), rssEnd);
    const eld = (text: string, q: string) => (metric(text, `nodejs_eventloop_lag_${q}_seconds`) ?? NaN) * 1000;

    const f = ctx.figures;
    const base = { name: 'minimal proxy idle', value: minimalIdle };
    f.push(figure('sidecar RSS idle (no table)', idle, 'MB', { baseline: base }));
    f.push(figure('sidecar RSS, 1 route', one, 'MB', { baseline: base }));
    f.push(
      figure(`sidecar RSS, ${routes + 1} routes`, many, 'MB', {
        baseline: base,
        ...(!smoke && { target: '< 80 MB', check: (v: number) => v < 80 }),
      }),
    );
    f.push(
      figure(`sidecar V8 heap used, ${routes + 1} routes`, heap.manyRoutes!, 'MB', {
        baseline: { name: 'sidecar heap, 1 route', value: heap.oneRoute! },
      }),
    );
    f.push(
      figure(`sidecar RSS after ${load.done} requests`, rssEnd, 'MB', {
        baseline: { name: 'minimal proxy warm', value: minimalWarm },
      }),
    );
    f.push(
      figure('sidecar RSS floor growth per 100k requests (after warm-up, the first third)', growthPer100k, 'MB', {
        baseline: { name: 'RSS floor in the first third after warm-up', value: early.rssMB },
        ...(!smoke && { target: '<= 0.5 MB/100k (no growth)', check: (v: number) => v <= 0.5 }),
      }),
    );
    f.push(
      figure(`sidecar live heap after a full GC, after ${load.done} requests`, liveBefore.total, 'MB', {
        baseline: { name: `heap used, ${routes + 1} routes, before them`, value: heap.manyRoutes! },
      }),
    );
    f.push(
      figure(`sidecar live objects growth per 100k requests (${more.done} more requests)`, liveGrowthPer100k, 'MB', {
        baseline: { name: 'live objects before them (code excluded)', value: liveBefore.data },
        ...(!smoke && { target: '<= 0.1 MB/100k (nothing kept per request)', check: (v: number) => v <= 0.1 }),
      }),
    );
    for (const q of ['p50', 'p99', 'max'] as const) {
      f.push(
        figure(`event-loop delay ${q} under load (${Math.round(load.rps)} rps)`, eld(underLoad, q), 'ms', {
          baseline: { name: 'idle', value: eld(idleMetrics, q) },
        }),
      );
    }
    f.push(
      figure('Redis memory per route (table + version + index entry)', (after - before) / routes, 'bytes', {
        baseline: { name: 'table JSON', value: jsonBytes / routes },
      }),
    );
    ctx.note(
      `N = ${load.done} requests in ${load.seconds.toFixed(0)} s (${Math.round(load.rps)} rps closed loop, 16 connections, 1 in 10 streaming, ${load.errors} errors) with ${routes + 1} routes loaded; ` +
        `target N = ${requests}${load.done < requests ? `: bounded by --seconds ${seconds}, growth is extrapolated per 100k` : ''}.`,
    );
    ctx.note(
      compiled
        ? 'Sidecar and minimal proxy run compiled (tsc into .cache/bench-dist, plain `node`), as in the image.'
        : 'Sidecar and minimal proxy run through `node --import tsx`: the loader adds tens of MB of RSS that the image (compiled dist/) does not have.',
    );
    ctx.note(
      'Event-loop delay comes from prom-client (monitorEventLoopDelay, 10 ms resolution) on the sidecar /metrics, reset at each scrape: under load = the load window, idle = 3 s after it.',
    );
    return {
      requests: load,
      rssMB: {
        minimalIdle,
        minimalWarm,
        idle,
        oneRoute: one,
        manyRoutes: many,
        end: rssEnd,
        afterIdle: rssAfter,
        peak,
        floorFirstThird: early.rssMB,
        floorLastThird: late.rssMB,
      },
      heapUsedMB: heap,
      liveHeapMB: {
        before: liveBefore,
        after: liveAfter,
        moreRequests: more.done,
        moreErrors: more.errors,
      },
      samples,
      redis: { usedMemoryBefore: before, usedMemoryAfter: after, routes, jsonBytesPerRoute: jsonBytes / routes },
    };
  } finally {
    await stopChild(minimal);
    await stack.stop();
    rmSync(snapshots, { recursive: true, force: true });
  }
});
