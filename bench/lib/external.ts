/**
 * Adapters for the benchmark programs other issues own (bench/proxy.ts, classifier.ts, operator.ts): how
 * run.ts calls each and turns the JSON it writes into figures. Those programs are run as they are.
 */
import type { Figure } from './report.js';
import { figure } from './report.js';

interface Pcts {
  p50: number;
  p90: number;
  p99: number;
}
interface ProxyRow {
  mode: 'json' | 'stream-ttfb' | 'stream-ttlb';
  rps: number;
  errors: number;
  direct: Pcts & { n: number };
  sidecar: Pcts & { n: number };
  sidecarOverhead: Pcts;
  minimalOverhead: Pcts;
}
export interface ProxyJson {
  runs: ProxyRow[];
  peakRps: { sidecar: number; minimal: number };
  streamPeakRps?: { sidecar: number; minimal: number };
  cpuPerRequestUs?: Record<'json' | 'stream', { sidecar: number; minimal: number }>;
  sidecarSelfReported: { shareUnder1ms?: number };
}

export function proxyArgs(smoke: boolean): string[] {
  return smoke ? ['--seconds', '1', '--rates', '100'] : ['--seconds', '4', '--rates', '100,500,1000'];
}

export function proxyFigures(r: ProxyJson, smoke: boolean): Figure[] {
  const out: Figure[] = [];
  for (const row of r.runs) {
    const mode = { json: 'non-streaming', 'stream-ttfb': 'streaming TTFB', 'stream-ttlb': 'streaming TTLB' }[row.mode];
    for (const p of ['p50', 'p90', 'p99'] as const) {
      // The 1 ms bounds are revised to the floor, as the issue allows, with its measurement in the same run:
      // when the minimal proxy (parse, rewrite, forward) itself adds 1 ms or more, the sidecar is held to 1.5x it.
      const floorAbove1ms = (v: number, ratio?: number) => ratio !== undefined && v / ratio >= 1;
      const target =
        smoke || p !== 'p99' || row.rps !== 500 || row.mode === 'stream-ttlb'
          ? undefined
          : row.mode === 'json'
            ? {
                target: '< 1 ms and <= 1.5x minimal (1 ms: the floor if the minimal proxy adds more)',
                check: (v: number, ratio?: number) => (v < 1 || floorAbove1ms(v, ratio)) && (ratio ?? Infinity) <= 1.5,
              }
            : {
                target: '< 1 ms (or <= 1.5x minimal if the minimal proxy adds 1 ms or more)',
                check: (v: number, ratio?: number) => v < 1 || (floorAbove1ms(v, ratio) && (ratio ?? Infinity) <= 1.5),
              };
      out.push(
        figure(`added latency ${p}, ${mode}, ${row.rps} rps`, row.sidecarOverhead[p], 'ms', {
          baseline: { name: 'minimal proxy added', value: row.minimalOverhead[p] },
          ...target,
        }),
      );
    }
    out.push(
      figure(`sidecar end-to-end p99, ${mode}, ${row.rps} rps (${row.errors} errors)`, row.sidecar.p99, 'ms', {
        baseline: { name: 'direct', value: row.direct.p99 },
      }),
    );
  }
  out.push(
    figure('peak rps, one process (closed loop, 32 connections)', r.peakRps.sidecar, 'req/s', {
      baseline: { name: 'minimal proxy', value: r.peakRps.minimal },
    }),
  );
  if (r.streamPeakRps)
    out.push(
      figure('peak rps, streaming, one process (closed loop, 32 connections)', r.streamPeakRps.sidecar, 'req/s', {
        baseline: { name: 'minimal proxy', value: r.streamPeakRps.minimal },
      }),
    );
  for (const [mode, cpu] of Object.entries(r.cpuPerRequestUs ?? {}))
    out.push(
      figure(`CPU per request at peak, ${mode === 'json' ? 'non-streaming' : 'streaming'}`, cpu.sidecar, 'µs', {
        baseline: { name: 'minimal proxy', value: cpu.minimal },
      }),
    );
  const share = r.sidecarSelfReported.shareUnder1ms;
  if (share !== undefined && Number.isFinite(share))
    out.push(figure('sidecar self-reported overhead under 1 ms (its own histogram)', share * 100, '% of requests'));
  return out;
}

interface ClassifierJson {
  latency: { case: string; p50us: number; p99us: number; cpuUs: number }[];
  calibration: { targetShare: number; blocks: { mix: string; calibratedShare: number; fixedShare: number }[] };
}

export function classifierFigures(r: ClassifierJson): Figure[] {
  const out: Figure[] = [];
  const last = r.calibration.blocks.slice(-2);
  if (last.length > 0) {
    const cal = last.reduce((a, b) => a + b.calibratedShare, 0) / last.length;
    const fixed = last.reduce((a, b) => a + b.fixedShare, 0) / last.length;
    out.push(
      figure(
        `calibration: top-tier share after the mix shift (target ${r.calibration.targetShare * 100}%, last ${last.length} blocks)`,
        cal * 100,
        '%',
        { baseline: { name: 'fixed threshold from the prior', value: fixed * 100 } },
      ),
    );
  }
  for (const l of r.latency)
    out.push(
      figure(`classifier.ts score() p99, ${l.case}`, l.p99us, 'µs', { baseline: { name: 'its p50', value: l.p50us } }),
    );
  return out;
}

interface OperatorJson {
  applyToTableMs: {
    viaKubectl: { n: number; p50: number; p99: number };
    kubectlAlone?: { p50: number; p99: number };
    viaApiPut: { p50: number; p99: number };
    firstUpdateAfterCrdInstall?: { viaKubectl: number; kubectlAlone: number };
  };
  coldStart: {
    routes: number;
    concurrency?: number;
    allTablesInRedisMs: number;
    allStatusesReadyMs: number;
    restartOverFullRedisMs: number;
    cpuPerRouteMs?: { apiserverAndEtcd: number; operatorProcess: number };
    redisBytesPerRoute?: number;
  };
  apiserverFloor?: { routes: number; concurrency: number; bothMs: number; eventPostsMs: number };
}

/** `routes`: how many ModelRoutes the cold start creates (1,000 by default; 5,000 takes minutes on 2 cores). */
export function operatorArgs(smoke: boolean, routes?: number): string[] {
  return smoke
    ? ['--updates', '2', '--routes', String(routes ?? 50)]
    : ['--updates', '10', '--routes', String(routes ?? 1000)];
}

export function operatorFigures(r: OperatorJson, smoke: boolean): Figure[] {
  const c = r.coldStart;
  const a = r.applyToTableMs;
  const floor = r.apiserverFloor;
  return [
    figure(`cold start: ${c.routes} ModelRoutes all Ready`, c.allStatusesReadyMs / 1000, 's', {
      baseline: { name: 'restart over a full Redis (nothing to write)', value: c.restartOverFullRedisMs / 1000 },
      ...(!smoke && c.routes === 1000 && { target: '< 10 s', check: (v: number) => v < 10 }),
    }),
    ...(floor
      ? [
          figure(
            `cold start: ${c.routes} ModelRoutes all Ready, against the apiserver floor`,
            c.allStatusesReadyMs / 1000,
            's',
            {
              baseline: {
                name: `${floor.routes} finalizer + ${floor.routes} status writes alone, ${floor.concurrency} at a time`,
                value: floor.bothMs / 1000,
              },
            },
          ),
        ]
      : []),
    figure(`cold start: ${c.routes} tables in Redis`, c.allTablesInRedisMs / 1000, 's', {
      baseline: { name: 'restart over a full Redis', value: c.restartOverFullRedisMs / 1000 },
    }),
    ...(c.redisBytesPerRoute !== undefined
      ? [figure('cold start: Redis used_memory growth per route', c.redisBytesPerRoute, 'bytes')]
      : []),
    ...(c.cpuPerRouteMs
      ? [
          figure('cold start: apiserver + etcd CPU per route', c.cpuPerRouteMs.apiserverAndEtcd, 'ms', {
            baseline: { name: 'operator process CPU per route', value: c.cpuPerRouteMs.operatorProcess },
          }),
        ]
      : []),
    ...(['p50', 'p99'] as const).map((p) =>
      figure(`kubectl apply -> table in Redis ${p} (${a.viaKubectl.n} updates)`, a.viaKubectl[p], 'ms', {
        baseline: a.kubectlAlone
          ? { name: 'kubectl apply alone', value: a.kubectlAlone[p] }
          : { name: 'API PUT -> table (operator alone)', value: a.viaApiPut[p] },
      }),
    ),
    ...(a.kubectlAlone
      ? (['p50', 'p99'] as const).map((p) =>
          figure(
            `API PUT -> table in Redis ${p} (${a.viaKubectl.n} updates; the operator alone)`,
            a.viaApiPut[p],
            'ms',
            {
              baseline: { name: 'kubectl apply -> table', value: a.viaKubectl[p] },
            },
          ),
        )
      : []),
    ...(a.firstUpdateAfterCrdInstall
      ? [
          figure(
            'kubectl apply -> table in Redis, first update after the CRD is installed',
            a.firstUpdateAfterCrdInstall.viaKubectl,
            'ms',
            {
              baseline: { name: 'kubectl apply alone', value: a.firstUpdateAfterCrdInstall.kubectlAlone },
            },
          ),
        ]
      : []),
  ];
}
