/**
 * The operator's side of the Redis layout (docs/redis-layout.md). Every key of a namespace carries the `{ns}` hash
 * tag, so the Lua scripts below touch one slot and stay atomic on Redis Cluster too: a reader sees the old table
 * or the new one, never a table without its version or index entry.
 */
import type { Redis } from 'ioredis';
import type { RoutingTable } from '../core/api/types.js';

export const EPOCH_KEY = 'mr:operator:epoch';

export const keys = {
  table: (ns: string, route: string) => `mr:{${ns}}:table:${route}`,
  version: (ns: string, route: string) => `mr:{${ns}}:version:${route}`,
  index: (ns: string) => `mr:{${ns}}:index`,
  events: (ns: string) => `mr:{${ns}}:events`,
};

// Skips the write when Redis already holds this version (an operator restart or a resync publishes nothing),
// otherwise writes table, version and index entry together and then publishes the hint.
const PUBLISH_SCRIPT = `
local v = ARGV[2]
if redis.call('GET', KEYS[2]) == v and redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HGET', KEYS[3], ARGV[3]) == v then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], v)
redis.call('HSET', KEYS[3], ARGV[3], v)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

const DELETE_SCRIPT = `
local n = redis.call('DEL', KEYS[1], KEYS[2]) + redis.call('HDEL', KEYS[3], ARGV[1])
if n > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return n
`;

type ScriptRedis = Redis & {
  mrPublish(
    t: string,
    v: string,
    i: string,
    json: string,
    version: string,
    route: string,
    ch: string,
    msg: string,
  ): Promise<number>;
  mrDelete(t: string, v: string, i: string, route: string, ch: string, msg: string): Promise<number>;
};

export class RedisStore {
  private readonly redis: ScriptRedis;

  constructor(redis: Redis) {
    redis.defineCommand('mrPublish', { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
    redis.defineCommand('mrDelete', { numberOfKeys: 3, lua: DELETE_SCRIPT });
    this.redis = redis as ScriptRedis;
  }

  /** Writes a table unless Redis already holds its version; true when it wrote (and published). */
  async publish(table: RoutingTable): Promise<boolean> {
    const { namespace: ns, name } = table.route;
    const message = JSON.stringify({ route: name, tableVersion: table.tableVersion });
    const wrote = await this.redis.mrPublish(
      keys.table(ns, name),
      keys.version(ns, name),
      keys.index(ns),
      JSON.stringify(table),
      table.tableVersion,
      name,
      keys.events(ns),
      message,
    );
    return wrote === 1;
  }

  /** Removes a route's table, version and index entry; publishes a null version if anything was there. */
  async remove(ns: string, name: string): Promise<boolean> {
    const message = JSON.stringify({ route: name, tableVersion: null });
    const n = await this.redis.mrDelete(
      keys.table(ns, name),
      keys.version(ns, name),
      keys.index(ns),
      name,
      keys.events(ns),
      message,
    );
    return n > 0;
  }

  async versionOf(ns: string, name: string): Promise<string | null> {
    return this.redis.get(keys.version(ns, name));
  }

  async getEpoch(): Promise<string | null> {
    return this.redis.get(EPOCH_KEY);
  }

  async setEpoch(epoch: string): Promise<void> {
    await this.redis.set(EPOCH_KEY, epoch);
  }

  /** Routes (as ns/name) among `keysToCheck` whose version key is missing: tables lost since they were written. */
  async missing(keysToCheck: string[]): Promise<string[]> {
    if (keysToCheck.length === 0) return [];
    // One pipeline per namespace: on Redis Cluster a pipeline must stay within one slot, and {ns} is one slot.
    const byNs = new Map<string, string[]>();
    for (const k of keysToCheck) {
      const ns = k.split('/')[0] ?? '';
      byNs.set(ns, [...(byNs.get(ns) ?? []), k]);
    }
    const gone = new Set<string>();
    await Promise.all(
      [...byNs].map(async ([ns, group]) => {
        const pipeline = this.redis.pipeline();
        for (const k of group) pipeline.exists(keys.version(ns, k.split('/')[1] ?? ''));
        const results = (await pipeline.exec()) ?? [];
        for (const [i, k] of group.entries()) if (results[i]?.[1] !== 1) gone.add(k);
      }),
    );
    return keysToCheck.filter((k) => gone.has(k));
  }
}
