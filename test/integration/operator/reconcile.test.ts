/**
 * The operator against a real kube-apiserver and a real Redis: apply, update, delete, missing and changing
 * Secrets, no plaintext in Redis, and no new versions after a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { CoreV1Api } from '@kubernetes/client-node';
import { openCredential } from '../../../core/crypto/seal.js';
import { KubeClient } from '../../../operator/kube-client.js';
import { silentLogger } from '../../../operator/log.js';
import { FINALIZER, Reconciler } from '../../../operator/reconciler.js';
import { RedisStore } from '../../../operator/redis-store.js';
import { sharedKube, startRedis, waitFor, type Kube, type RedisServer } from '../../helpers/control-plane.js';
import {
  applyCRD,
  createNamespace,
  eventsFor,
  getRoute,
  kubectlApply,
  publishedVersion,
  putSecret,
  ready,
  routeManifest,
  startOperator,
  tableIn,
  uniqueNs,
  type RunningOperator,
} from './fixtures.js';

let kube: Kube;
let redisServer: RedisServer;
let redis: Redis;
let subscriber: Redis;
let op: RunningOperator;
const ns = uniqueNs('op-reconcile');
const messages: { route: string; tableVersion: string | null }[] = [];
const PROVIDER_KEY = 'sk-live-PLAINTEXT-aaaaaaaaaaaaaaaaaaaaaaaa';

beforeAll(async () => {
  // The shared apiserver (the operator watches only this file's namespace); a private Redis, which the tests flush.
  [kube, redisServer] = await Promise.all([sharedKube(), startRedis()]);
  await applyCRD(kube);
  await createNamespace(kube, ns);
  redis = new Redis(redisServer.url);
  subscriber = new Redis(redisServer.url);
  await subscriber.subscribe(`mr:{${ns}}:events`);
  subscriber.on('message', (_ch, msg: string) => messages.push(JSON.parse(msg) as (typeof messages)[number]));
  op = startOperator(kube.kubeConfig, redisServer.url, [ns]);
});

afterAll(async () => {
  await op?.stop();
  redis?.disconnect();
  subscriber?.disconnect();
  await redisServer?.stop();
});

const version = (name: string, timeoutMs = 20_000) =>
  waitFor(() => publishedVersion(kube.kubeConfig, redis, ns, name), {
    timeoutMs,
    message: `${ns}/${name} Ready with its version in Redis`,
  });

describe('operator reconcile', () => {
  it('apply -> table in Redis, Ready=True for this generation, finalizer, index, event and notification', async () => {
    await kubectlApply(kube, routeManifest(ns, 'chat'));
    const v1 = await version('chat');
    const route = await getRoute(kube.kubeConfig, ns, 'chat');
    expect(route?.metadata.finalizers).toContain(FINALIZER);
    expect(route?.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');
    expect(route?.status?.backends).toBe(1);
    const table = await tableIn(redis, ns, 'chat');
    expect(table?.tableVersion).toBe(v1);
    expect(table?.route).toEqual({ namespace: ns, name: 'chat' });
    expect(await redis.hget(`mr:{${ns}}:index`, 'chat')).toBe(v1);
    await waitFor(() => messages.some((m) => m.route === 'chat' && m.tableVersion === v1), {
      message: 'publish notification',
    });
    await waitFor(async () => (await eventsFor(kube.kubeConfig, ns, 'chat')).some((e) => e.reason === 'Published'), {
      message: 'Published event',
    });
  });

  it('update -> a new version replaces the old one', async () => {
    const before = await version('chat');
    await kubectlApply(kube, routeManifest(ns, 'chat', { model: 'llama-3-70b' }));
    const after = await waitFor(
      async () => {
        const v = await publishedVersion(kube.kubeConfig, redis, ns, 'chat');
        return v && v !== before ? v : false;
      },
      { timeoutMs: 20_000, message: 'new version' },
    );
    expect((await tableIn(redis, ns, 'chat'))?.backends[0]?.model).toBe('llama-3-70b');
    expect((await getRoute(kube.kubeConfig, ns, 'chat'))?.metadata.generation).toBe(2);
    await waitFor(() => messages.some((m) => m.route === 'chat' && m.tableVersion === after), {
      message: 'notification',
    });
  });

  it('delete -> table, version and index entry gone, null notification, finalizer released', async () => {
    await kubectlApply(kube, routeManifest(ns, 'doomed'));
    await version('doomed');
    const r = await kube.kubectl(['-n', ns, 'delete', 'modelroute', 'doomed', '--wait=false']);
    expect(r.code).toBe(0);
    await waitFor(async () => (await getRoute(kube.kubeConfig, ns, 'doomed')) === undefined, {
      timeoutMs: 20_000,
      message: 'route deleted',
    });
    expect(await redis.exists(`mr:{${ns}}:table:doomed`, `mr:{${ns}}:version:doomed`)).toBe(0);
    expect(await redis.hexists(`mr:{${ns}}:index`, 'doomed')).toBe(0);
    await waitFor(() => messages.some((m) => m.route === 'doomed' && m.tableVersion === null), {
      message: 'delete notification',
    });
  });

  it('missing Secret -> Ready=False SecretNotFound + Warning event, last good table kept; creating it repairs', async () => {
    await putSecret(kube, ns, 'provider-a', { apiKey: PROVIDER_KEY });
    await kubectlApply(kube, routeManifest(ns, 'paid', { secret: 'provider-a' }));
    const good = await version('paid');

    await kubectlApply(kube, routeManifest(ns, 'paid', { secret: 'provider-b' }));
    const broken = await waitFor(
      async () => {
        const route = await getRoute(kube.kubeConfig, ns, 'paid');
        const c = ready(route);
        return c?.status === 'False' && route?.status?.observedGeneration === 2 ? c : false;
      },
      { timeoutMs: 20_000, message: 'Ready=False' },
    );
    expect(broken.reason).toBe('SecretNotFound');
    expect(broken.message).toContain(`Secret ${ns}/provider-b`);
    expect(broken.message).toContain(`kubectl -n ${ns} create secret generic provider-b`);
    expect(await redis.get(`mr:{${ns}}:version:paid`)).toBe(good);
    expect((await getRoute(kube.kubeConfig, ns, 'paid'))?.status?.tableVersion).toBe(good);
    await waitFor(
      async () =>
        (await eventsFor(kube.kubeConfig, ns, 'paid')).some(
          (e) => e.type === 'Warning' && e.reason === 'SecretNotFound',
        ),
      { message: 'Warning event' },
    );

    await putSecret(kube, ns, 'provider-b', { apiKey: `${PROVIDER_KEY}-b` });
    const repaired = await version('paid');
    expect(repaired).not.toBe(good);
  });

  it('changing a referenced Secret republishes with the new sealed credential', async () => {
    const before = await version('paid');
    await putSecret(kube, ns, 'provider-b', { apiKey: `${PROVIDER_KEY}-rotated` });
    const after = await waitFor(
      async () => {
        const v = await publishedVersion(kube.kubeConfig, redis, ns, 'paid');
        return v && v !== before ? v : false;
      },
      { timeoutMs: 20_000, message: 'republish after Secret change' },
    );
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const dataKey = await core.readNamespacedSecret({ namespace: ns, name: 'modelroute-data-key' });
    const key = Buffer.from(dataKey.data?.key ?? '', 'base64');
    const sealed = (await tableIn(redis, ns, 'paid'))?.backends[0]?.auth?.sealed;
    expect(sealed).toBeDefined();
    expect(openCredential(sealed!, key)).toBe(`${PROVIDER_KEY}-rotated`);
    expect(after).toHaveLength(before.length);
  });

  it('Redis never holds a provider key in plaintext (every value of every key)', async () => {
    const values: string[] = [];
    for (const k of await redis.keys('*')) {
      const type = await redis.type(k);
      if (type === 'string') values.push((await redis.get(k)) ?? '');
      else if (type === 'hash') values.push(JSON.stringify(await redis.hgetall(k)));
      else values.push(await redis.dumpBuffer(k).then((b) => b?.toString('latin1') ?? ''));
    }
    expect(values.length).toBeGreaterThan(3);
    const all = values.join('\n');
    expect(all).not.toContain('PLAINTEXT');
    expect(all).not.toContain(Buffer.from(PROVIDER_KEY).toString('base64').slice(0, 20));
  });

  it('an operator restart publishes nothing new (same inputs, same versions)', async () => {
    const before = Object.fromEntries(await Promise.all(['chat', 'paid'].map(async (n) => [n, await version(n)])));
    await op.stop();
    messages.length = 0;
    op = startOperator(kube.kubeConfig, redisServer.url, [ns]);
    await waitFor(() => op.operator.ready, { message: 'operator ready' });
    await waitFor(
      async () => (await op.operator.metrics.reconciles.get()).values.reduce((a, v) => a + v.value, 0) >= 2,
      {
        message: 'routes reconciled after restart',
      },
    );
    await op.operator.whenIdle();
    expect((await op.operator.metrics.tablesPublished.get()).values[0]?.value ?? 0).toBe(0);
    for (const [n, v] of Object.entries(before)) expect(await redis.get(`mr:{${ns}}:version:${n}`)).toBe(v);
    expect(messages).toEqual([]);
  });

  it('a status write on a stale object retries on conflict instead of failing', async () => {
    const stale = await getRoute(kube.kubeConfig, ns, 'chat');
    // Bump resourceVersion without touching generation, so the stale copy's writes get 409.
    const annotated = await kube.kubectl([
      '-n',
      ns,
      'annotate',
      'modelroute',
      'chat',
      'bench/touched=1',
      '--overwrite',
    ]);
    expect(annotated.code).toBe(0);
    // A reconciler whose cache hands out the stale object, with its status dropped so a write is needed.
    const storeRedis = new Redis(redisServer.url);
    const reconciler = new Reconciler({
      kube: new KubeClient(kube.kubeConfig),
      store: new RedisStore(storeRedis),
      log: silentLogger,
      cached: () => ({ ...stale!, status: {} }),
    });
    try {
      await expect(reconciler.reconcile(`${ns}/chat`)).resolves.toBeUndefined();
    } finally {
      storeRedis.disconnect();
    }
    expect(await publishedVersion(kube.kubeConfig, redis, ns, 'chat')).toBeTruthy();
  });
});
