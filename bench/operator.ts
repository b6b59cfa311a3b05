/**
 * Operator benchmark (a program, not a test), against a private kube-apiserver and redis-server:
 *  1. apply -> table in Redis: p50/p99 over many updates of one route, timed from the start of `kubectl apply`
 *     (includes kubectl's own start-up) and from the apiserver accepting a PUT (the operator's own latency),
 *     until the publish notification for the new version arrives on `mr:{ns}:events`; beside it, `kubectl apply`
 *     alone (until it exits). The first update after the CRD is installed is timed on its own and left out of
 *     the percentiles: it waits for the apiserver to build its OpenAPI v2 document once (about 1 s here), which
 *     a cluster in use has long done.
 *  2. cold start: 1,000 ModelRoutes exist (half with a credential Secret), the operator starts, time until all
 *     tables are in Redis and until every status is Ready; Redis memory and CPU (apiserver + etcd, this process)
 *     per route; then a restart over a full Redis (nothing to publish).
 *  3. the apiserver floor: the two writes a first reconcile cannot avoid (finalizer, status), N of each, issued
 *     from this process at the same concurrency with nothing else running; and N Events (the operator posts one
 *     per publish, off the reconcile path) and one LIST of the N routes.
 * Usage: tsx bench/operator.ts [--updates 100] [--routes 1000] [--concurrency 16]
 * Writes bench/results/operator.json.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import type { ModelRoute } from '../core/api/types.js';
import { silentLogger } from '../operator/log.js';
import { DEFAULT_CONCURRENCY } from '../operator/config.js';
import { KubeClient } from '../operator/kube-client.js';
import { Operator } from '../operator/operator.js';
import { startKube, startRedis, waitFor } from '../test/helpers/control-plane.js';
import {
  applyCRD,
  createNamespace,
  kubectlApply,
  putSecret,
  routeManifest,
} from '../test/integration/operator/fixtures.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const UPDATES = Math.min(arg('updates', 100), 1000);
const ROUTES = Math.min(arg('routes', 1000), 5000);
const CONCURRENCY = arg('concurrency', DEFAULT_CONCURRENCY);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};
const summary = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });

/** Runs `fn` over `items`, `concurrency` at a time; resolves with the elapsed ms. */
async function timedPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return performance.now() - t0;
}

/**
 * CPU seconds (user + system) used so far by the processes whose command line contains `marker` (Linux /proc;
 * NaN elsewhere). CPU per route holds better than wall time on a shared machine, where wall time is set by
 * whatever else runs.
 */
function cpuSecondsOf(marker: string): number {
  let ticks = 0;
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return NaN;
  }
  return ticks / 100;
}

const ownCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const usedMemory = async (redis: Redis): Promise<number> =>
  Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);

async function main(): Promise<void> {
  const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const [kube, redisServer] = await Promise.all([startKube(), startRedis()]);
  const redis = new Redis(redisServer.url);
  const sub = new Redis(redisServer.url);
  const operators: Operator[] = [];
  const newOperator = (ns: string[]): Operator => {
    const op = new Operator({
      kubeConfig: kube.kubeConfig,
      redis,
      log: silentLogger,
      namespaces: ns,
      concurrency: CONCURRENCY,
    });
    operators.push(op);
    return op;
  };
  try {
    await applyCRD(kube);
    const api = kube.kubeConfig.makeApiClient(CustomObjectsApi);

    // 1. apply -> table in Redis
    const ns1 = 'bench-latency';
    await createNamespace(kube, ns1);
    const op1 = newOperator([ns1]);
    op1.start();
    const seen = new Map<string, (v: string) => void>();
    await sub.subscribe(`mr:{${ns1}}:events`);
    sub.on('message', (_c, msg: string) => {
      const m = JSON.parse(msg) as { route: string; tableVersion: string | null };
      if (m.tableVersion) seen.get(m.route)?.(m.tableVersion);
    });
    const nextPublish = (route: string) => new Promise<string>((resolve) => seen.set(route, resolve));
    let p = nextPublish('hot');
    await kubectlApply(kube, routeManifest(ns1, 'hot'));
    await p;
    await op1.whenIdle();
    // The first update after the CRD was installed: kubectl fetches /openapi/v2, which the apiserver builds on
    // first request. Timed, reported, and kept out of the percentiles below.
    p = nextPublish('hot');
    const tFirst = performance.now();
    await kubectlApply(kube, routeManifest(ns1, 'hot', { model: 'kubectl-first' }));
    const firstKubectlAloneMs = performance.now() - tFirst;
    await p;
    const firstUpdateMs = performance.now() - tFirst;
    await op1.whenIdle();
    const viaKubectl: number[] = [];
    const kubectlAlone: number[] = [];
    const viaApi: number[] = [];
    for (let i = 0; i < UPDATES; i++) {
      p = nextPublish('hot');
      const t0 = performance.now();
      await kubectlApply(kube, routeManifest(ns1, 'hot', { model: `kubectl-${i}` }));
      kubectlAlone.push(performance.now() - t0);
      await p;
      viaKubectl.push(performance.now() - t0);
      // Let the status write land first, or our read-modify-write below conflicts with it.
      await op1.whenIdle();

      const current = (await api.getNamespacedCustomObject({
        group: 'modelroute.dev',
        version: 'v1alpha1',
        plural: 'modelroutes',
        namespace: ns1,
        name: 'hot',
      })) as ModelRoute;
      current.spec.backends[0]!.model = `api-${i}`;
      p = nextPublish('hot');
      await api.replaceNamespacedCustomObject({
        group: 'modelroute.dev',
        version: 'v1alpha1',
        plural: 'modelroutes',
        namespace: ns1,
        name: 'hot',
        body: current,
      });
      const t1 = performance.now();
      await p;
      viaApi.push(performance.now() - t1);
      await op1.whenIdle();
    }
    await op1.stop();

    // 2. cold start over ROUTES routes
    const ns2 = 'bench-cold';
    await createNamespace(kube, ns2);
    await putSecret(kube, ns2, 'provider', { apiKey: 'sk-bench' });
    for (let i = 0; i < ROUTES; i += 250) {
      const items = Array.from({ length: Math.min(250, ROUTES - i) }, (_, j) =>
        routeManifest(ns2, `r${i + j}`, (i + j) % 2 ? { secret: 'provider' } : {}),
      );
      await kubectlApply(kube, { apiVersion: 'v1', kind: 'List', items });
    }
    const memoryBefore = await usedMemory(redis);
    const cpuBefore = { kube: cpuSecondsOf(kube.dir), operator: ownCpuSeconds() };
    const t0 = performance.now();
    const op2 = newOperator([ns2]);
    op2.start();
    await waitFor(async () => (await redis.hlen(`mr:{${ns2}}:index`)) === ROUTES, {
      timeoutMs: 600_000,
      intervalMs: 50,
      message: 'all tables',
    });
    const tablesMs = performance.now() - t0;
    const memoryPerRoute = ((await usedMemory(redis)) - memoryBefore) / ROUTES;
    await op2.whenIdle();
    await waitFor(
      async () => {
        const list = (await api.listNamespacedCustomObject({
          group: 'modelroute.dev',
          version: 'v1alpha1',
          plural: 'modelroutes',
          namespace: ns2,
        })) as { items: ModelRoute[] };
        return (
          list.items.filter((r) => r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
            .length === ROUTES
        );
      },
      { timeoutMs: 600_000, intervalMs: 250, message: 'all Ready' },
    );
    const readyMs = performance.now() - t0;
    const cpuPerRouteMs = {
      apiserverAndEtcd: Math.round(((cpuSecondsOf(kube.dir) - cpuBefore.kube) / ROUTES) * 1e4) / 10,
      operatorProcess: Math.round(((ownCpuSeconds() - cpuBefore.operator) / ROUTES) * 1e4) / 10,
    };
    await op2.stop();

    // Restart over a full Redis: every route is reconciled, nothing is written.
    const t2 = performance.now();
    const op3 = newOperator([ns2]);
    op3.start();
    await waitFor(
      async () => op3.ready && (await op3.metrics.reconciles.get()).values.reduce((a, v) => a + v.value, 0) >= ROUTES,
      {
        timeoutMs: 600_000,
        intervalMs: 50,
        message: 'restart reconciled',
      },
    );
    await op3.whenIdle();
    const restartMs = performance.now() - t2;
    const republished = (await op3.metrics.tablesPublished.get()).values[0]?.value ?? 0;
    await op3.stop();

    // 3. The floor: the writes every first reconcile makes, alone, through the operator's own client.
    const kubeClient = new KubeClient(kube.kubeConfig);
    const listed = (
      (await api.listNamespacedCustomObject({
        group: 'modelroute.dev',
        version: 'v1alpha1',
        plural: 'modelroutes',
        namespace: ns2,
      })) as { items: ModelRoute[] }
    ).items;
    const updated: ModelRoute[] = [];
    const metadataPutsMs = await timedPool(listed, CONCURRENCY, async (r) => {
      const annotations = { ...(r.metadata['annotations'] as Record<string, string> | undefined), 'bench/floor': '1' };
      updated.push(await kubeClient.replaceRoute({ ...r, metadata: { ...r.metadata, annotations } }));
    });
    const statusPutsMs = await timedPool(updated, CONCURRENCY, (r) =>
      kubeClient.replaceStatus(r, { ...r.status, message: 'bench floor' }),
    );
    const eventPostsMs = await timedPool(updated, CONCURRENCY, (r) =>
      kubeClient.event(r, { type: 'Normal', reason: 'BenchFloor', message: 'bench floor' }),
    );
    const listStart = performance.now();
    await api.listNamespacedCustomObject({
      group: 'modelroute.dev',
      version: 'v1alpha1',
      plural: 'modelroutes',
      namespace: ns2,
    });
    const listMs = performance.now() - listStart;

    const result = {
      date: new Date().toISOString(),
      machine: 'shared 2-core sandbox, apiserver + etcd + redis on loopback',
      applyToTableMs: {
        viaKubectl: summary(viaKubectl),
        kubectlAlone: summary(kubectlAlone),
        viaApiPut: summary(viaApi),
        firstUpdateAfterCrdInstall: {
          viaKubectl: Math.round(firstUpdateMs),
          kubectlAlone: Math.round(firstKubectlAloneMs),
        },
      },
      coldStart: {
        routes: ROUTES,
        concurrency: CONCURRENCY,
        allTablesInRedisMs: Math.round(tablesMs),
        allStatusesReadyMs: Math.round(readyMs),
        restartOverFullRedisMs: Math.round(restartMs),
        republishedOnRestart: republished,
        redisBytesPerRoute: Math.round(memoryPerRoute),
        cpuPerRouteMs,
      },
      apiserverFloor: {
        routes: listed.length,
        concurrency: CONCURRENCY,
        metadataPutsMs: Math.round(metadataPutsMs),
        statusPutsMs: Math.round(statusPutsMs),
        bothMs: Math.round(metadataPutsMs + statusPutsMs),
        eventPostsMs: Math.round(eventPostsMs),
        listMs: Math.round(listMs),
      },
      loadAverage: { start: loadStart, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/operator.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const op of operators) await op.stop();
    redis.disconnect();
    sub.disconnect();
    await redisServer.stop();
    await kube.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
