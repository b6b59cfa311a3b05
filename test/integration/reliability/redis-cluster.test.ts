/**
 * The Redis key layout on a real Redis Cluster (three masters, one replica each, on loopback). First the store
 * modules with an injected ioredis.Cluster: the operator's RedisStore writes (Lua, one slot), the sidecar's
 * RedisTableStore follows (pub/sub hint + index check) and its UsageRecorder flushes; then the master holding the
 * namespace's slot is killed and the replica that takes over still has every table. Then the mains as processes
 * (`modelroute operator --redis-cluster` and `modelroute sidecar --redis-cluster`, seeded with one live node):
 * kubectl apply to an answer through the cluster, with the usage counted in it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import OpenAI from 'openai';
import type { RoutingTable } from '../../../core/api/types.js';
import { RedisStore } from '../../../operator/redis-store.js';
import { keys } from '../../../sidecar/redis-keys.js';
import { RedisTableStore } from '../../../sidecar/redis-table-store.js';
import { UsageRecorder } from '../../../sidecar/usage-recorder.js';
import { startKube, type Kube } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { startOperatorProcess, startSidecarProcess, type CliProcess } from '../e2e/cli-process.js';
import { applyCRD, createNamespace, uniqueNs } from '../operator/fixtures.js';
import { NS, backend, route, tableOf } from '../sidecar/support.js';

let cluster: RedisCluster;
const storeLogs: string[] = [];
const clients: Cluster[] = [];

function clusterClient(): Cluster {
  const c = new Cluster(cluster.startupNodes, {
    enableOfflineQueue: true,
    clusterRetryStrategy: (n) => Math.min(100 * n, 1000),
    redisOptions: { maxRetriesPerRequest: 3 },
  });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

function tableNamed(name: string, model = `${name}-model`): RoutingTable {
  return tableOf(
    route(name, {
      match: { models: [name] },
      backends: [backend('up', 'http://127.0.0.1:9/v1', { model })],
      strategy: { fixed: { backend: 'up' } },
    }),
  );
}

/** Port of the live master that serves the slot of a namespace's keys. */
async function ownerOf(ns: string): Promise<number> {
  const port = (await cluster.masters())[0]!;
  const slot = Number((await cluster.cli(port, 'cluster', 'keyslot', keys.index(ns))).trim());
  const owner = (await cluster.cli(port, 'cluster', 'nodes'))
    .split('\n')
    .filter((l) => /\bmaster\b/.test(l) && !/\bfail\b/.test(l))
    .find((l) =>
      l
        .trim()
        .split(' ')
        .slice(8)
        .some((range) => {
          const [lo, hi = lo] = range.split('-').map(Number);
          return slot >= lo! && slot <= hi!;
        }),
    )!;
  return Number(/127\.0\.0\.1:(\d+)@/.exec(owner)![1]);
}

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

describe('Redis Cluster', () => {
  let writer: Cluster;
  let store: RedisTableStore;
  const published: RoutingTable[] = [];

  test("every key of a namespace shares one slot (the {ns} hash tag), whatever the route's name", async () => {
    const names = [
      keys.table(NS, 'main'),
      keys.version(NS, 'main'),
      keys.table(NS, 'other-route'),
      keys.index(NS),
      keys.events(NS),
      keys.usage(NS),
      keys.writer(NS, 'w1'),
      keys.spend(NS, 'main', 'day', '2026-01-01T00:00:00.000Z'),
    ];
    const slots = new Set<string>();
    for (const k of names) slots.add((await cluster.cli(cluster.nodes[0]!.port, 'cluster', 'keyslot', k)).trim());
    expect(slots.size).toBe(1);
    const other = (await cluster.cli(cluster.nodes[0]!.port, 'cluster', 'keyslot', keys.index('team-b'))).trim();
    expect(slots.has(other)).toBe(false);
  });

  test("the operator's Lua writes and the sidecar's store (pub/sub + version check) work unchanged", async () => {
    writer = clusterClient();
    const ops = new RedisStore(writer as unknown as Redis);
    store = new RedisTableStore({
      redis: clusterClient() as unknown as Redis,
      subscriber: clusterClient() as unknown as Redis,
      namespace: NS,
      checkIntervalMs: 60_000,
      startTimeoutMs: 10_000,
      hooks: { log: (m) => storeLogs.push(m) },
    });
    await store.start();
    // start() subscribes without waiting (events are a hint; the periodic check is the truth): wait for the
    // subscription to exist somewhere in the cluster before relying on events alone.
    await waitFor(
      async () => {
        let n = 0;
        for (const node of cluster.nodes)
          n += Number((await cluster.cli(node.port, 'pubsub', 'numsub', keys.events(NS))).trim().split(/\s+/)[1]);
        return n >= 1;
      },
      { timeoutMs: 10_000, message: 'the store subscribed' },
    );
    for (const name of ['main', 'second', 'third']) {
      const t = tableNamed(name);
      expect(await ops.publish(t)).toBe(true);
      published.push(t);
      // The event alone (PUBLISH from a Lua script, broadcast across the cluster) brings it in.
      await waitFor(() => store.current().some((x) => x.tableVersion === t.tableVersion), {
        timeoutMs: 5000,
        message: `event for ${name}`,
      }).catch(async (err: Error) => {
        const subs = await Promise.all(
          cluster.nodes.map(
            async (n) =>
              `${n.port}:${(await cluster.cli(n.port, 'pubsub', 'numsub', keys.events(NS))).replace(/\s+/g, ' ')}`,
          ),
        );
        throw new Error(`${err.message}; subscriptions per node: ${subs.join(', ')}; log: ${storeLogs.join(' | ')}`);
      });
    }
    expect(await ops.publish(published[0]!)).toBe(false); // same version: nothing written
    expect(await ops.versionOf(NS, 'main')).toBe(published[0]!.tableVersion);
    expect(await writer.hgetall(keys.index(NS))).toEqual(
      Object.fromEntries(published.map((t) => [t.route.name, t.tableVersion])),
    );
    // A delete: the Lua script removes the keys and publishes a null version across the cluster, which drops
    // the route; the periodic check (index hash + MGET of tables in one slot) then agrees.
    expect(await ops.remove(NS, 'third')).toBe(true);
    published.pop();
    await waitFor(() => !store.current().some((t) => t.route.name === 'third'), {
      timeoutMs: 5000,
      message: 'delete event for third',
    });
    await store.check();
    expect(
      store
        .current()
        .map((t) => t.route.name)
        .sort(),
    ).toEqual(['main', 'second']);
  }, 60_000);

  test('usage batches (Lua over the usage hash and the writer key) apply exactly once', async () => {
    const usage = new UsageRecorder(writer as unknown as Redis, NS, { flushMs: 60_000 });
    const t = published[0]!;
    for (let i = 0; i < 10; i++) usage.record({ table: t, backend: t.backends[0]!, input: 3, output: 5 });
    expect(await usage.flush()).toBe(true);
    await usage.close();
    const h = await writer.hgetall(keys.usage(NS));
    expect(Number(h['route:main|requests'])).toBe(10);
    expect(Number(h['route:main|input_tokens'])).toBe(30);
    expect(Number(h['route:main|output_tokens'])).toBe(50);
  });

  test('killing the master that holds the namespace loses no table; the replica serves and takes writes', async () => {
    const masterPort = await ownerOf(NS);
    // The operator does not WAIT for replicas; this test does, so that a failover cannot drop an acknowledged
    // write by the nature of asynchronous replication (which is what the test is not about).
    const master = new Redis(masterPort, '127.0.0.1');
    master.on('error', () => undefined);
    expect(await master.wait(1, 5000)).toBeGreaterThanOrEqual(1);
    master.disconnect();

    await cluster.nodes.find((n) => n.port === masterPort)!.kill();
    await waitFor(
      async () => {
        const alive = cluster.nodes.find((n) => n.port !== masterPort)!;
        const info = await cluster.cli(alive.port, 'cluster', 'info');
        return info.includes('cluster_state:ok') && !(await cluster.masters()).includes(masterPort);
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'replica promoted' },
    );
    // Every table is still there, through the same cluster clients.
    await waitFor(
      async () => {
        const index = await writer.hgetall(keys.index(NS));
        return published.every((t) => index[t.route.name] === t.tableVersion);
      },
      { timeoutMs: 15_000, message: 'index after failover' },
    );
    for (const t of published) expect(JSON.parse((await writer.get(keys.table(NS, t.route.name)))!)).toEqual(t);
    expect(
      store
        .current()
        .map((t) => t.tableVersion)
        .sort(),
    ).toEqual(published.map((t) => t.tableVersion).sort());
    // And the new master takes writes that reach the sidecar's store.
    const next = tableNamed('main', 'main-model-2');
    expect(await new RedisStore(writer as unknown as Redis).publish(next)).toBe(true);
    await waitFor(
      async () => {
        await store.check();
        return store.current().some((x) => x.tableVersion === next.tableVersion);
      },
      { timeoutMs: 15_000, message: 'write after failover' },
    );
    await store.close();
  }, 90_000);
});

describe('the operator and sidecar processes on a Redis Cluster (--redis-cluster)', () => {
  let operator: CliProcess<{ admin: string }> | undefined;
  let sidecar: CliProcess<{ baseURL: string; admin: string }> | undefined;
  let up: FakeUpstream | undefined;
  let kube: Kube | undefined;

  afterAll(async () => {
    await Promise.all([operator?.stop(), sidecar?.stop()]);
    await up?.close();
    await kube?.stop();
  }, 60_000);

  test('kubectl apply reaches Redis through the operator, the sidecar answers from it and counts usage there', async () => {
    kube = await startKube();
    const ns = uniqueNs('cluster');
    await applyCRD(kube);
    await createNamespace(kube, ns);
    up = await startFakeUpstream({ name: 'up' });
    // One seed node is enough: the clients discover the others. The seed is a live master that does not hold the
    // namespace's slot, so a client that ignored --redis-cluster would get MOVED for every key.
    const owner = await ownerOf(ns);
    const seed = `redis://127.0.0.1:${(await cluster.masters()).find((p) => p !== owner)!}`;
    [operator, sidecar] = await Promise.all([
      startOperatorProcess({
        kubeconfig: kube.kubeconfigPath,
        redisURL: seed,
        namespace: ns,
        env: {},
        args: ['--redis-cluster'],
      }),
      startSidecarProcess({ redisURL: seed, namespace: ns, env: { MODELROUTE_REDIS_CLUSTER: 'true' } }),
    ]);
    const manifest = {
      apiVersion: 'modelroute.dev/v1alpha1',
      kind: 'ModelRoute',
      metadata: { name: 'chat', namespace: ns },
      spec: {
        match: { models: ['m'] },
        backends: [
          {
            name: 'up',
            provider: 'openai-compatible',
            baseURL: up.baseURL,
            model: 'up-model',
            pricing: { inputPerMillion: 1, outputPerMillion: 2 },
          },
        ],
        strategy: { fixed: { backend: 'up' } },
      },
    };
    expect((await kube.kubectl(['apply', '-f', '-'], JSON.stringify(manifest))).code).toBe(0);
    const waited = await kube.kubectl(['wait', '-n', ns, '--for=condition=Ready', 'modelroute/chat', '--timeout=60s']);
    expect(waited.stderr).toBe('');
    const version = JSON.parse((await kube.kubectl(['get', '-n', ns, 'modelroute/chat', '-o', 'json'])).stdout) as {
      status: { tableVersion: string };
    };
    const reader = clusterClient();
    expect(await reader.hget(keys.index(ns), 'chat')).toBe(version.status.tableVersion);

    const openai = new OpenAI({ apiKey: 'k', baseURL: sidecar.ready.baseURL, maxRetries: 0 });
    const answered = await waitFor(
      async () => {
        const { data, response } = await openai.chat.completions
          .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
          .withResponse();
        return { text: data.choices[0]!.message.content, version: response.headers.get('x-modelroute-table-version') };
      },
      { timeoutMs: 15_000, message: () => `sidecar answering; logs:\n${sidecar!.logs.join('\n')}` },
    );
    expect(answered).toEqual({ text: 'reply from up to up-model', version: version.status.tableVersion });
    let text = '';
    for await (const ch of await openai.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
    }))
      text += ch.choices[0]?.delta.content ?? '';
    expect(text).toBe('reply from up to up-model');
    const sent = up.totalUsage();
    await waitFor(
      async () => {
        const h = await reader.hgetall(keys.usage(ns));
        return (
          Number(h['route:chat|input_tokens']) === sent.input && Number(h['route:chat|output_tokens']) === sent.output
        );
      },
      { timeoutMs: 10_000, message: 'usage counted in the cluster' },
    );
    expect(Number((await reader.hgetall(keys.usage(ns)))['route:chat|requests'])).toBe(up.requests.length);
    // Both are healthy on the cluster: the operator's readiness includes its Redis connection.
    expect((await fetch(`${operator.ready.admin}/readyz`)).status).toBe(200);
    expect((await fetch(`${sidecar.ready.admin}/readyz`)).status).toBe(200);
    for (const p of [operator, sidecar]) expect(p.logs.join('\n')).not.toMatch(/CROSSSLOT|MOVED|same slot/i);
  }, 180_000);
});
