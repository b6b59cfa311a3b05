/**
 * Following the tables in Redis: a published table is in use within 200 ms; the index alone (no event)
 * is enough; a corrupt or invalid table is refused and the last good one kept; a deleted route stops being
 * served; readiness waits for a first table.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { RedisTableStore } from '../../../sidecar/redis-table-store.js';
import { NS, backend, client, publish, redisClient, route, startTestSidecar, tableOf, unpublish } from './support.js';

let redis: RedisServer;
let r: Redis;
let a: FakeUpstream;
let b: FakeUpstream;
let sidecar: Sidecar;
let openai: OpenAI;

const spec = (to: 'a' | 'b') => ({
  match: { models: ['m'] },
  backends: [backend('a', a.baseURL), backend('b', b.baseURL)],
  strategy: { fixed: { backend: to } },
});
const ask = () =>
  openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
const get = (path: string) => fetch(`${sidecar.adminUrl}${path}`);

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  [a, b] = await Promise.all([startFakeUpstream({ name: 'a' }), startFakeUpstream({ name: 'b' })]);
  // A slow index check, so the 200 ms test measures pub/sub and not the timer.
  sidecar = await startTestSidecar(redis.url, { checkIntervalMs: 1000, missingGraceMs: 3000 });
  openai = client(sidecar);
});

afterAll(async () => {
  await sidecar?.close();
  await Promise.all([a?.close(), b?.close()]);
  r?.disconnect();
  await redis?.stop();
});

describe('following tables', () => {
  test('not ready before a first table; ready and routing after', async () => {
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/healthz')).status).toBe(200);
    const err = await ask().catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('not_ready');
    const t = tableOf(route('main', spec('a')));
    await publish(r, t);
    await waitFor(async () => (await get('/readyz')).status === 200, { timeoutMs: 3000, message: 'ready' });
    expect((await ask()).response.headers.get('x-modelroute-backend')).toBe('a');
  });

  test('a newly published table is in use within 200 ms', async () => {
    const t = tableOf(route('main', spec('b')));
    const t0 = performance.now();
    await publish(r, t);
    await waitFor(() => sidecar.store.current().some((x) => x.tableVersion === t.tableVersion), {
      timeoutMs: 200,
      intervalMs: 2,
      message: 'new table in use',
    });
    expect(performance.now() - t0).toBeLessThan(200);
    const { response } = await ask();
    expect(response.headers.get('x-modelroute-backend')).toBe('b');
    expect(response.headers.get('x-modelroute-table-version')).toBe(t.tableVersion);
  });

  test('without an event, the periodic index check still picks the table up', async () => {
    const t = tableOf(route('main', spec('a')));
    await r
      .multi()
      .set(`mr:{${NS}}:table:main`, JSON.stringify(t))
      .set(`mr:{${NS}}:version:main`, t.tableVersion)
      .hset(`mr:{${NS}}:index`, 'main', t.tableVersion)
      .exec();
    await waitFor(() => sidecar.store.current().some((x) => x.tableVersion === t.tableVersion), {
      timeoutMs: 3000,
      message: 'table via index check',
    });
    expect((await ask()).response.headers.get('x-modelroute-backend')).toBe('a');
  });

  test('a corrupt table and an invalid one are refused; the last good one keeps serving', async () => {
    const good = sidecar.store.current()[0]!.tableVersion;
    const rejections = (count: number) =>
      waitFor(
        async () =>
          new RegExp(`modelroute_sidecar_tables_rejected_total\\{route="main"\\} ${count}\n`).test(
            await (await get('/metrics')).text(),
          ),
        {
          timeoutMs: 3000,
          message: `${count} rejection(s) counted`,
        },
      );
    await publish(r, tableOf(route('main', spec('b'))), {
      raw: '{"schemaVersion": 1, "tableVers',
      version: 'corrupt-1',
    });
    await rejections(1);
    // Valid JSON whose content does not match its tableVersion (tampered or half-written).
    const tampered = { ...tableOf(route('main', spec('b'))), tableVersion: 'f00d' };
    await publish(r, tampered, { version: 'f00d' });
    await rejections(2);
    expect(sidecar.store.current().map((t) => t.tableVersion)).toEqual([good]);
    const { response } = await ask();
    expect(response.headers.get('x-modelroute-backend')).toBe('a');
    expect(response.headers.get('x-modelroute-table-version')).toBe(good);
  });

  test('/debug/tables shows the tables without credentials', async () => {
    const body = await (await get('/debug/tables')).text();
    expect(body).toContain('"name": "main"');
    expect(body).toContain('"sealed": true');
    expect(body).not.toMatch(/"(iv|tag|data)"/);
  });

  test('Redis flushed (no delete event): the route keeps serving through the grace period, then goes', async () => {
    const store = sidecar.store as RedisTableStore;
    const saved = store.current()[0]!;
    await r.flushall();
    // Index checks see the route missing; a flush is not a deletion, so it is still served.
    await store.check();
    await store.check();
    const { response } = await ask();
    expect(response.headers.get('x-modelroute-table-version')).toBe(saved.tableVersion);
    // The operator republishes within seconds: the route was never dropped.
    await publish(r, saved);
    await store.check();
    expect(store.current().map((t) => t.tableVersion)).toEqual([saved.tableVersion]);
    // Missing for longer than the grace period with no event: removed after all.
    await r.flushall();
    await waitFor(() => store.current().length === 0, { timeoutMs: 8000, message: 'route removed after grace' });
    await publish(r, saved);
    await waitFor(() => store.current().length === 1, { timeoutMs: 3000, message: 'route back' });
  });

  test('a deleted route is no longer served', async () => {
    await unpublish(r, NS, 'main');
    await waitFor(() => sidecar.store.current().length === 0, { timeoutMs: 3000, message: 'route removed' });
    const err = await ask().catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    // Readiness stays: the sidecar did load tables; an empty namespace is a state to serve (404s) in.
    expect((await get('/readyz')).status).toBe(200);
  });
});

describe('a burst of events', () => {
  test('300 tables published at once load with far fewer fetches than events; a deletion in a burst still removes its route', async () => {
    const ns = 'burst';
    const cmd = redisClient(redis.url);
    const sub = redisClient(redis.url);
    let changes = 0;
    const store = new RedisTableStore({
      redis: cmd,
      subscriber: sub,
      namespace: ns,
      // No index check in the test's time: only events load tables.
      checkIntervalMs: 60_000,
      hooks: { changed: () => changes++ },
    });
    try {
      await store.start();
      await waitFor(async () => ((await r.pubsub('NUMSUB', `mr:{${ns}}:events`)) as [string, number])[1] === 1, {
        timeoutMs: 3000,
        message: 'store subscribed',
      });
      const tables = Array.from({ length: 300 }, (_, i) => tableOf(route(`r${i}`, spec('a'), ns)));
      await Promise.all(tables.map((t) => publish(r, t)));
      await waitFor(() => store.current().length === 300, { timeoutMs: 5000, message: '300 tables loaded' });
      // One snapshot per event would be 300 (each event changes a table).
      expect(changes).toBeLessThan(100);

      const next = tableOf(route('r1', spec('b'), ns));
      await Promise.all([unpublish(r, ns, 'r0'), publish(r, next)]);
      await waitFor(
        () =>
          store.current().length === 299 &&
          store.current().some((t) => t.route.name === 'r1' && t.tableVersion === next.tableVersion),
        { timeoutMs: 3000, message: 'r0 deleted and r1 replaced' },
      );
      expect(store.current().some((t) => t.route.name === 'r0')).toBe(false);
    } finally {
      await store.close();
      cmd.disconnect();
      sub.disconnect();
    }
  });
});
