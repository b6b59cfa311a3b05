/**
 * Operator benchmark (a program, not a test), against a private kube-apiserver and redis-server:
 *  1. apply -> table in Redis: p50/p99 over many updates of one route, timed from the start of `kubectl apply`
 *     (includes kubectl's own start-up) and from the apiserver accepting a PUT (the operator's own latency),
 *     until the publish notification for the new version arrives on `mr:{ns}:events`.
 *  2. cold start: 1,000 ModelRoutes exist (half with a credential Secret), the operator starts, time until all
 *     tables are in Redis and until every status is Ready; then a restart over a full Redis (nothing to publish).
 * Usage: tsx bench/operator.ts [--updates 100] [--routes 1000] [--concurrency 4]
 * Writes bench/results/operator.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import type { ModelRoute } from '../core/api/types.js';
import { silentLogger } from '../operator/log.js';
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
const CONCURRENCY = arg('concurrency', 4);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};
const summary = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });

async function main(): Promise<void> {
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
    const viaKubectl: number[] = [];
    const viaApi: number[] = [];
    for (let i = 0; i < UPDATES; i++) {
      p = nextPublish('hot');
      const t0 = performance.now();
      await kubectlApply(kube, routeManifest(ns1, 'hot', { model: `kubectl-${i}` }));
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
    const t0 = performance.now();
    const op2 = newOperator([ns2]);
    op2.start();
    await waitFor(async () => (await redis.hlen(`mr:{${ns2}}:index`)) === ROUTES, {
      timeoutMs: 600_000,
      intervalMs: 50,
      message: 'all tables',
    });
    const tablesMs = performance.now() - t0;
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

    const result = {
      date: new Date().toISOString(),
      machine: 'shared 2-core sandbox, apiserver + etcd + redis on loopback',
      applyToTableMs: { viaKubectl: summary(viaKubectl), viaApiPut: summary(viaApi) },
      coldStart: {
        routes: ROUTES,
        concurrency: CONCURRENCY,
        allTablesInRedisMs: Math.round(tablesMs),
        allStatusesReadyMs: Math.round(readyMs),
        restartOverFullRedisMs: Math.round(restartMs),
        republishedOnRestart: republished,
      },
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
