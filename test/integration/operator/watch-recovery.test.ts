/**
 * The watch breaks and the operator recovers by itself, then reconciles what changed meanwhile: the apiserver
 * restarts, the connection is cut (reset), and the connection stalls silently (a half-open socket). The operator
 * reaches the apiserver through a TCP proxy the test controls.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { startKube, startRedis, waitFor, type Kube, type RedisServer } from '../../helpers/control-plane.js';
import {
  applyCRD,
  createNamespace,
  kubectlApply,
  publishedVersion,
  routeManifest,
  startOperator,
  tableIn,
  uniqueNs,
  type RunningOperator,
} from './fixtures.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let kube: Kube;
let redisServer: RedisServer;
let redis: Redis;
let proxy: TcpProxy;
let op: RunningOperator;
const ns = uniqueNs('op-watch');

function viaProxy(kc: KubeConfig, port: number): KubeConfig {
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}

beforeAll(async () => {
  [kube, redisServer] = await Promise.all([startKube(), startRedis()]);
  await applyCRD(kube);
  await createNamespace(kube, ns);
  redis = new Redis(redisServer.url);
  proxy = await startTcpProxy(Number(new URL(kube.server).port));
  // All namespaces (this apiserver is private to the file): the cluster-wide list and watch paths are exercised here.
  op = startOperator(viaProxy(kube.kubeConfig, proxy.port), redisServer.url, [], {
    // Short enough for a test, same mechanism as production: the server ends each watch after 3 s, and a watch
    // still silent 1 s after that is declared stalled.
    watchTimeoutSeconds: 3,
    stallGraceMs: 1_000,
    watchBackoff: { baseMs: 100, maxMs: 1_000 },
  });
  await kubectlApply(kube, routeManifest(ns, 'r1'));
  await waitFor(() => publishedVersion(kube.kubeConfig, redis, ns, 'r1'), {
    timeoutMs: 20_000,
    message: 'r1 published',
  });
});

afterAll(async () => {
  await op?.stop();
  await proxy?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await kube?.stop();
});

async function changedMeanwhile(model: string, newRoute: string): Promise<number> {
  const t0 = Date.now();
  await kubectlApply(kube, routeManifest(ns, 'r1', { model }));
  await kubectlApply(kube, routeManifest(ns, newRoute));
  await waitFor(async () => (await tableIn(redis, ns, 'r1'))?.backends[0]?.model === model, {
    timeoutMs: 30_000,
    message: `r1 -> ${model}`,
  });
  await waitFor(() => publishedVersion(kube.kubeConfig, redis, ns, newRoute), {
    timeoutMs: 30_000,
    message: `${newRoute} published`,
  });
  return Date.now() - t0;
}

describe('watch recovery', () => {
  it('apiserver restarted -> recovers and reconciles what changed meanwhile', async () => {
    const errorsBefore = op.operator.informers.routes[0]!.stats.errors;
    await kube.restartApiserver();
    const ms = await changedMeanwhile('after-restart', 'r2');
    console.log(`[operator] caught up ${ms} ms after the apiserver restart`);
    expect(op.operator.informers.routes[0]!.stats.errors).toBeGreaterThan(errorsBefore);
  });

  it('connection reset -> recovers', async () => {
    const errorsBefore = op.operator.informers.routes[0]!.stats.errors;
    proxy.cut();
    await changedMeanwhile('after-cut', 'r3');
    expect(op.operator.informers.routes[0]!.stats.errors).toBeGreaterThan(errorsBefore);
  });

  it('connection stalls silently -> the watchdog notices and relists', async () => {
    const stallsBefore = op.operator.informers.routes[0]!.stats.stalls;
    proxy.stall();
    const ms = await changedMeanwhile('after-stall', 'r4');
    console.log(`[operator] caught up ${ms} ms after a silent stall (watch timeout 3 s + grace 1 s)`);
    expect(op.operator.informers.routes[0]!.stats.stalls).toBeGreaterThan(stallsBefore);
  });
});
