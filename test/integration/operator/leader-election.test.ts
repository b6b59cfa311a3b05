/**
 * Two operator processes under a least-privilege ServiceAccount: only the leader writes; kill -9 the leader and
 * the standby takes over within about the lease duration; no table is lost or corrupted; SIGTERM releases the lease.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { validateTable } from '../../../core/api/validate-table.js';
import { sharedKube, startRedis, waitFor, type Kube, type RedisServer } from '../../helpers/control-plane.js';
import {
  applyCRD,
  createNamespace,
  kubectlApply,
  publishedVersion,
  putSecret,
  routeManifest,
  tableIn,
  uniqueNs,
} from './fixtures.js';
import { spawnOperator, type OperatorProcess } from './operator-process.js';
import { operatorRbac } from './rbac.js';

const ns = uniqueNs('op-leader');
const ROUTES = ['a', 'b', 'c', 'd', 'e'];
const LEASE_S = 3;
let kube: Kube;
let redisServer: RedisServer;
let redis: Redis;
let args: string[];
const procs: OperatorProcess[] = [];

beforeAll(async () => {
  // The shared apiserver (the operator watches only this file's namespace); a private Redis, which the tests flush.
  [kube, redisServer] = await Promise.all([sharedKube(), startRedis()]);
  await applyCRD(kube);
  await createNamespace(kube, ns);
  await kubectlApply(kube, { apiVersion: 'v1', kind: 'List', items: operatorRbac(ns, 'modelroute-operator') });
  const kubeconfig = await kube.serviceAccountKubeconfigPath(ns, 'modelroute-operator');
  redis = new Redis(redisServer.url);
  args = [
    ...['--kubeconfig', kubeconfig, '--redis', redisServer.url, '--namespaces', ns],
    ...[
      '--leader-elect',
      '--leader-elect-namespace',
      ns,
      '--lease-duration',
      `${LEASE_S}s`,
      '--renew-deadline',
      '2s',
      '--retry-period',
      '500ms',
    ],
    ...['--redis-check-interval', '1s'],
  ];
});

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  redis?.disconnect();
  await redisServer?.stop();
});

async function holder(): Promise<string | undefined> {
  const api = kube.kubeConfig.makeApiClient(CoordinationV1Api);
  try {
    return (
      (await api.readNamespacedLease({ namespace: ns, name: 'modelroute-operator' })).spec?.holderIdentity ?? undefined
    );
  } catch {
    return undefined;
  }
}

async function start(identity: string): Promise<OperatorProcess> {
  const p = await spawnOperator([...args, '--identity', identity]);
  procs.push(p);
  return p;
}

describe('leader election', () => {
  let a: OperatorProcess;
  let b: OperatorProcess;

  it('only the leader reconciles and writes; the standby is ready but idle', async () => {
    a = await start('op-a');
    await waitFor(async () => (await holder()) === 'op-a', { timeoutMs: 20_000, message: 'op-a leads' });
    b = await start('op-b');
    await waitFor(async () => (await fetch(`${b.admin}/readyz`)).status === 200, {
      timeoutMs: 20_000,
      message: 'standby ready',
    });
    await putSecret(kube, ns, 'provider', { apiKey: 'sk-leader-test' });
    await kubectlApply(kube, {
      apiVersion: 'v1',
      kind: 'List',
      items: ROUTES.map((n) => routeManifest(ns, n, { secret: 'provider' })),
    });
    for (const n of ROUTES)
      await waitFor(() => publishedVersion(kube.kubeConfig, redis, ns, n), {
        timeoutMs: 30_000,
        message: `${n} published`,
      });
    expect((await fetch(`${a.admin}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${b.admin}/readyz`)).json()).toEqual({ ready: true, leader: false });
    expect(await a.metric('modelroute_operator_leader')).toBe(1);
    expect(await b.metric('modelroute_operator_leader')).toBe(0);
    expect(await a.metric('modelroute_operator_reconciles_total')).toBeGreaterThanOrEqual(ROUTES.length);
    expect(await b.metric('modelroute_operator_reconciles_total')).toBe(0);
    expect(await b.metric('modelroute_operator_tables_published_total')).toBe(0);
  });

  it('kill -9 the leader -> the standby takes over within about the lease duration, nothing lost', async () => {
    const before = Object.fromEntries(
      await Promise.all(ROUTES.map(async (n) => [n, await redis.get(`mr:{${ns}}:version:${n}`)])),
    );
    const t0 = Date.now();
    a.kill('SIGKILL');
    await a.exited;
    await waitFor(async () => (await holder()) === 'op-b', {
      timeoutMs: LEASE_S * 1000 + 10_000,
      intervalMs: 100,
      message: 'op-b takes over',
    });
    const tookMs = Date.now() - t0;
    console.log(`[operator] standby took over ${tookMs} ms after kill -9 of the leader (lease ${LEASE_S} s)`);
    expect(tookMs).toBeLessThan(LEASE_S * 1000 + 5_000);
    await waitFor(async () => (await b.metric('modelroute_operator_leader')) === 1, { message: 'op-b reports leader' });

    // Takeover republishes nothing: same inputs, same versions; every table still parses and matches the index.
    for (const n of ROUTES) {
      const table = await tableIn(redis, ns, n);
      expect(validateTable(table).tableVersion).toBe(before[n]);
      expect(await redis.hget(`mr:{${ns}}:index`, n)).toBe(before[n]);
    }
    // And the new leader does the work.
    await kubectlApply(kube, routeManifest(ns, 'a', { secret: 'provider', model: 'after-failover' }));
    await waitFor(async () => (await tableIn(redis, ns, 'a'))?.backends[0]?.model === 'after-failover', {
      timeoutMs: 20_000,
      message: 'op-b publishes',
    });
    await waitFor(() => publishedVersion(kube.kubeConfig, redis, ns, 'a'), {
      timeoutMs: 20_000,
      message: 'a Ready again',
    });
    expect(await b.metric('modelroute_operator_tables_published_total')).toBe(1);
  });

  it('SIGTERM releases the lease at once', async () => {
    b.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(await holder()).toBeUndefined();
    expect(b.logs.some((l) => l.includes('leader lease released'))).toBe(true);
  });
});
