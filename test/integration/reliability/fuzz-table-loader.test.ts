/**
 * Fuzzes the sidecar's table loader with corrupted Redis values (seeded: FUZZ_SEED replays a run): truncated
 * and bit-flipped JSON, wrong schemaVersion, a tableVersion that does not match the content, another route's
 * table, huge and deeply nested values. Each is written as the operator writes (table key + index) and the
 * loader is made to look at once; every one is refused and the last good table keeps answering requests.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { tableVersionOf } from '../../../core/api/compile.js';
import type { RoutingTable } from '../../../core/api/types.js';
import type { RedisTableStore } from '../../../sidecar/redis-table-store.js';
import type { Sidecar } from '../../../sidecar/sidecar.js';
import { startRedis, waitFor, type RedisServer } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { Prng, corrupt, deepNesting, fuzzSeed, randomJson } from '../../helpers/fuzz.js';
import { NS, backend, publish, redisClient, route, startTestSidecar, tableOf, fixedRoute } from '../sidecar/support.js';

const CASES = Number(process.env.FUZZ_TABLE_CASES ?? 1500);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 30_000);

let redis: RedisServer;
let r: Redis;
let up: FakeUpstream;
let sidecar: Sidecar;
let good: RoutingTable;

const tableKey = `mr:{${NS}}:table:main`;
const versionKey = `mr:{${NS}}:version:main`;
const indexKey = `mr:{${NS}}:index`;

beforeAll(async () => {
  redis = await startRedis();
  r = redisClient(redis.url);
  up = await startFakeUpstream({ name: 'up' });
  good = tableOf(fixedRoute(up.baseURL));
  await publish(r, good);
  // A long check period: the test drives every check itself, so each case is looked at exactly once.
  sidecar = await startTestSidecar(redis.url, { checkIntervalMs: 60_000 });
  await waitFor(() => sidecar.store.ready(), { timeoutMs: 5000, message: 'sidecar ready' });
});

afterAll(async () => {
  await sidecar?.close();
  await up?.close();
  r?.disconnect();
  await redis?.stop();
});

/** The table version the sidecar routes by, as a client sees it. */
async function servedVersion(): Promise<string | undefined> {
  const res = await fetch(`${sidecar.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return res.headers.get('x-modelroute-table-version') ?? undefined;
}

/** A well-formed table whose hash is recomputed after `edit`, so only the edited property is wrong. */
function rehashed(edit: (t: Record<string, unknown>) => void): string {
  const t = structuredClone(good) as unknown as Record<string, unknown>;
  edit(t);
  t.tableVersion = tableVersionOf(t as unknown as RoutingTable);
  return JSON.stringify(t);
}

function badValue(p: Prng, text: string): { kind: string; raw: Buffer } {
  const kind = p.pick([
    'corrupt',
    'corrupt',
    'corrupt',
    'schema',
    'version',
    'other-route',
    'other-namespace',
    'huge',
    'deep',
    'random',
    'empty',
    'field-type',
  ]);
  const b = (s: string) => Buffer.from(s);
  switch (kind) {
    case 'corrupt':
      return { kind, raw: corrupt(p, text) };
    case 'schema':
      return { kind, raw: b(rehashed((t) => (t.schemaVersion = p.pick([0, 2, 99, '1', null, -1])))) };
    case 'version':
      return {
        kind,
        raw: b(JSON.stringify({ ...good, tableVersion: p.pick(['v0', good.tableVersion.slice(1), '']) })),
      };
    case 'other-route':
      return { kind, raw: b(rehashed((t) => ((t.route as { name: string }).name = 'other'))) };
    case 'other-namespace':
      return { kind, raw: b(rehashed((t) => ((t.route as { namespace: string }).namespace = 'team-b'))) };
    case 'huge': {
      // Big, and wrong in one more way: a valid table of any size is a table, not corruption.
      const big = 'x'.repeat(p.pick([1e5, 4e6]));
      return {
        kind,
        raw: p.chance(0.5)
          ? b(JSON.stringify({ ...good, match: { models: ['m', big] } }))
          : Buffer.concat([b(text.slice(0, -1)), b(`,"pad":"${big}"`)]),
      };
    }
    case 'deep':
      return { kind, raw: b(text.replace('"match":', `"junk":${deepNesting(p.pick([100, 20_000]))},"match":`)) };
    case 'random':
      return { kind, raw: b(JSON.stringify(randomJson(p)) ?? 'null') };
    case 'empty':
      return { kind, raw: b(p.pick(['', ' ', 'null', '{}', '[]', '"table"', '0'])) };
    default: {
      const path = p.pick(['backends', 'strategy', 'retry', 'match', 'route']);
      return { kind, raw: b(rehashed((t) => (t[path] = randomJson(p, 2)))) };
    }
  }
}

describe('fuzzing the table loader', () => {
  test(
    'every corrupted value is refused and the last good table keeps serving',
    async () => {
      const store = sidecar.store as RedisTableStore;
      expect(await servedVersion()).toBe(good.tableVersion);
      const seed = fuzzSeed();
      const p = new Prng(seed);
      const text = JSON.stringify(good);
      const tally = new Map<string, number>();
      const started = Date.now();
      let ran = 0;
      for (; ran < CASES && Date.now() - started < BUDGET_MS; ran++) {
        const { kind, raw } = badValue(p, text);
        tally.set(kind, (tally.get(kind) ?? 0) + 1);
        // Each case under its own index version, so the loader never skips it as already refused.
        const version = `fuzz-${ran}`;
        await r.multi().set(tableKey, raw).set(versionKey, version).hset(indexKey, 'main', version).exec();
        await store.check();
        const loaded = store.current();
        if (loaded.length !== 1 || loaded[0]!.tableVersion !== good.tableVersion)
          throw new Error(
            `case #${ran} (${kind}, seed ${seed}) replaced the good table: ${raw.toString().slice(0, 300)}`,
          );
        if (ran % 50 === 0) expect(await servedVersion()).toBe(good.tableVersion);
      }
      console.log(
        `fuzz-table-loader seed=${seed}: ${ran} corrupted values in ${Date.now() - started} ms; ${JSON.stringify(Object.fromEntries(tally))}`,
      );
      expect(ran).toBeGreaterThanOrEqual(Math.min(CASES, 500));
      expect(await servedVersion()).toBe(good.tableVersion);
      const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
      const rejected = Number(/modelroute_sidecar_tables_rejected_total\{route="main"\} (\d+)/.exec(metrics)?.[1]);
      expect(rejected).toBeGreaterThan(ran / 2);

      // The loader is not wedged: a new good table is taken at once.
      const next = tableOf(
        route('main', {
          match: { models: ['m'] },
          backends: [backend('up', up.baseURL, { model: 'up-model-2' })],
          strategy: { fixed: { backend: 'up' } },
        }),
      );
      await publish(r, next);
      await store.check();
      expect(await servedVersion()).toBe(next.tableVersion);
    },
    BUDGET_MS + 90_000,
  );

  test('an index entry whose table key is missing keeps the last good table', async () => {
    const store = sidecar.store as RedisTableStore;
    const before = store.current()[0]!.tableVersion;
    // Half a write (a lost key, a partial restore): the index names a version whose table is not there.
    await r.multi().del(tableKey).hset(indexKey, 'main', 'missing-1').exec();
    await store.check();
    expect(store.current().map((t) => t.tableVersion)).toEqual([before]);
    expect(await servedVersion()).toBe(before);
  });
});
