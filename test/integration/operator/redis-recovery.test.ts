/**
 * Redis is a cache of the cluster's truth: after FLUSHALL, or a restart that comes back empty, the operator puts
 * every table back by itself, with the same versions, without any edit. Prints how long it took.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { sharedKube, startRedis, waitFor, type Kube, type RedisServer } from '../../helpers/control-plane.js';
import {
  applyCRD,
  createNamespace,
  kubectlApply,
  publishedVersion,
  putSecret,
  routeManifest,
  startOperator,
  uniqueNs,
  type RunningOperator,
} from './fixtures.js';

const ROUTES = 20;
let kube: Kube;
let redisServer: RedisServer;
let redis: Redis;
let op: RunningOperator;
const ns = uniqueNs('op-redis');
const names = Array.from({ length: ROUTES }, (_, i) => `r${i}`);
const versions: Record<string, string> = {};

beforeAll(async () => {
  // The shared apiserver (the operator watches only this file's namespace); a private Redis, which the tests flush.
  [kube, redisServer] = await Promise.all([sharedKube(), startRedis()]);
  await applyCRD(kube);
  await createNamespace(kube, ns);
  await putSecret(kube, ns, 'provider', { apiKey: 'sk-test-recovery' });
  redis = new Redis(redisServer.url, { retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  op = startOperator(kube.kubeConfig, redisServer.url, [ns], { redisCheckMs: 1_000 });
  await kubectlApply(kube, {
    apiVersion: 'v1',
    kind: 'List',
    items: names.map((n, i) => routeManifest(ns, n, i % 2 ? { secret: 'provider' } : {})),
  });
  for (const n of names) {
    versions[n] = await waitFor(() => publishedVersion(kube.kubeConfig, redis, ns, n), {
      timeoutMs: 30_000,
      message: `${n} published`,
    });
  }
});

afterAll(async () => {
  await op?.stop();
  redis?.disconnect();
  await redisServer?.stop();
});

async function counter(name: 'redisResyncs' | 'tablesPublished' | 'redisChecks' | 'reconciles'): Promise<number> {
  return (await op.operator.metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function allBack(): Promise<boolean> {
  const got = await redis.mget(names.map((n) => `mr:{${ns}}:version:${n}`));
  const index = await redis.hgetall(`mr:{${ns}}:index`);
  return (
    names.every((n, i) => got[i] === versions[n] && index[n] === versions[n]) &&
    (await redis.exists(...names.map((n) => `mr:{${ns}}:table:${n}`))) === ROUTES
  );
}

describe('Redis loses its data', () => {
  it('FLUSHALL -> every table back with the same version, without an edit', async () => {
    const t0 = Date.now();
    await redis.flushall();
    await waitFor(allBack, { timeoutMs: 15_000, intervalMs: 20, message: 'all tables back after FLUSHALL' });
    const ms = Date.now() - t0;
    console.log(`[operator] ${ROUTES} tables back ${ms} ms after FLUSHALL (check interval 1 s)`);
    expect(await redis.get('mr:operator:epoch')).toBeTruthy();
  });

  it('Redis restarted empty -> every table back', async () => {
    const resyncs = await counter('redisResyncs');
    const t0 = Date.now();
    // FLUSHALL goes to the AOF, so the restarted server comes back empty.
    await redis.flushall();
    await redisServer.restart();
    await waitFor(allBack, { timeoutMs: 20_000, intervalMs: 20, message: 'all tables back after restart' });
    console.log(`[operator] ${ROUTES} tables back ${Date.now() - t0} ms after FLUSHALL + Redis restart`);
    expect(await counter('redisResyncs')).toBeGreaterThan(resyncs);
  });

  it('Redis restarted with its data -> every route rechecked, nothing republished (no storm)', async () => {
    await waitFor(allBack, { message: 'steady state' });
    await op.operator.whenIdle();
    const published = await counter('tablesPublished');
    const resyncs = await counter('redisResyncs');
    const reconciles = await counter('reconciles');
    // A graceful restart: the AOF is complete, so whatever the operator rechecks is already there.
    await redisServer.restart();
    await waitFor(async () => (await redis.ping()) === 'PONG' && op.operator.ready, {
      timeoutMs: 20_000,
      message: 'reconnected',
    });
    // The guard checked the epoch after the reconnect (and again on its timer) and found it intact.
    const checks = await counter('redisChecks');
    await waitFor(async () => (await counter('redisChecks')) >= checks + 2, { message: 'epoch checks after restart' });
    expect(await allBack()).toBe(true);
    expect(await counter('tablesPublished')).toBe(published);
    expect(await counter('redisResyncs')).toBe(resyncs);
    // A reconnect requeues every route anyway (a crash can lose the AOF's last second without losing the epoch).
    await waitFor(async () => (await counter('reconciles')) >= reconciles + ROUTES, {
      message: 'recheck after reconnect',
    });
    await op.operator.whenIdle();
    expect(await counter('tablesPublished')).toBe(published);
  });

  it('resync writes the same bytes: versions equal the ones in status', async () => {
    for (const n of names) expect(await publishedVersion(kube.kubeConfig, redis, ns, n)).toBe(versions[n]);
  });
});
