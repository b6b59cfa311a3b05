/**
 * Follows the routing tables of one namespace in Redis. Pub/sub events are only a hint that triggers an
 * early check; the truth is the index hash, compared on a timer with what is loaded. Every refresh runs
 * through one queue, so an older read can never overwrite a newer table. A table that does not parse or
 * validate is refused and the last good one stays; the last good set is saved to the state file.
 */
import type { Redis } from 'ioredis';
import { validateTable } from '../core/api/validate-table.js';
import type { RoutingTable } from '../core/api/types.js';
import { keys } from './redis-keys.js';
import { loadState, saveState } from './state-file.js';
import type { TableStore, TableStoreHooks } from './table-store.js';

export interface RedisTableStoreOptions {
  /** Commands (enableOfflineQueue: false, so a read fails fast while Redis is away). */
  redis: Redis;
  /** A dedicated connection for SUBSCRIBE. */
  subscriber: Redis;
  namespace: string;
  stateFile?: string;
  /** Index check period (default 1000 ms). */
  checkIntervalMs?: number;
  /** How long start() waits for Redis before falling back to the state file (default 2000 ms). */
  startTimeoutMs?: number;
  /**
   * How long a route may be missing from the index, without a delete event, before it stops being served
   * (default 30000 ms). Redis restarted empty or flushed looks exactly like that until the operator has
   * republished (seconds); a real deletion also publishes an event, which removes the route at once.
   */
  missingGraceMs?: number;
  hooks?: TableStoreHooks;
}

export class RedisTableStore implements TableStore {
  private readonly tables = new Map<string, RoutingTable>();
  private snapshot: ReadonlyArray<RoutingTable> = Object.freeze([]);
  /** route -> version refused, so a corrupt table is reported once, not on every check. */
  private readonly refused = new Map<string, string>();
  /** route -> when a check first found it missing from the index. */
  private readonly missingSince = new Map<string, number>();
  private loaded = false;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private savePending = false;
  private closed = false;
  /**
   * Routes named by events not fetched yet -> whether the latest was a deletion. One queued job fetches them
   * all (fetchEvents): a burst of N events costs a few round trips and publishes, not N of each. A fetch is
   * queued exactly when this is not empty.
   */
  private eventRoutes = new Map<string, boolean>();

  constructor(private readonly o: RedisTableStoreOptions) {}

  current(): ReadonlyArray<RoutingTable> {
    return this.snapshot;
  }

  ready(): boolean {
    return this.loaded;
  }

  async start(): Promise<void> {
    const { redis, subscriber, namespace } = this.o;
    subscriber.on('message', (_channel: string, message: string) => this.onEvent(message));
    // Subscribing needs a live connection (no offline queue), so it is (re)done on every connect; a
    // reconnect also triggers an immediate check, since events sent while away are lost.
    const subscribe = () => void subscriber.subscribe(keys.events(namespace)).catch(() => undefined);
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') subscribe();
    redis.on('ready', () => void this.check());
    const up = await waitReady(redis, this.o.startTimeoutMs ?? 2_000);
    if (up) await this.check();
    if (!this.loaded && this.o.stateFile) {
      const saved = await loadState(this.o.stateFile, namespace, (m) => this.log(m));
      if (saved.length > 0 && !this.loaded) {
        for (const t of saved) this.accept(t);
        this.publish(false);
        this.log(`Redis unavailable at start: routing by ${saved.length} table(s) from ${this.o.stateFile}`);
      }
    }
    this.timer = setInterval(() => void this.check(), this.o.checkIntervalMs ?? 1_000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.queue;
    await this.saving;
  }

  /** Compares the index with what is loaded and fetches what differs. Resolves when done (or Redis failed). */
  check(): Promise<void> {
    return this.enqueue(async () => {
      const index = await this.o.redis.hgetall(keys.index(this.o.namespace));
      let changed = false;
      const stale = Object.entries(index).filter(
        ([route, v]) => this.tables.get(route)?.tableVersion !== v && this.refused.get(route) !== v,
      );
      if (stale.length > 0) {
        const raws = await this.o.redis.mget(...stale.map(([route]) => keys.table(this.o.namespace, route)));
        stale.forEach(([route, v], i) => {
          const raw = raws[i] ?? null;
          // Listed in the index but gone (a lost key, half a restore): not a deletion, which removes both.
          if (raw === null) this.refuse(route, v, `the index names version ${v} but the table key is missing`);
          else changed = this.consider(route, raw) || changed;
        });
      }
      const now = Date.now();
      const grace = this.o.missingGraceMs ?? 30_000;
      for (const route of [...this.tables.keys()]) {
        if (route in index) {
          this.missingSince.delete(route);
          continue;
        }
        const since = this.missingSince.get(route) ?? now;
        this.missingSince.set(route, since);
        if (now - since >= grace) changed = this.remove(route) || changed;
      }
      if (changed) this.publish(true);
    });
  }

  private onEvent(message: string): void {
    let event: { route?: unknown; tableVersion?: unknown };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    const route = event.route;
    if (typeof route !== 'string') return;
    const queued = this.eventRoutes.size > 0;
    this.eventRoutes.set(route, event.tableVersion === null);
    if (!queued) void this.enqueue(() => this.fetchEvents());
  }

  /** Loads the tables of the routes events named since the last fetch, then publishes once. */
  private async fetchEvents(): Promise<void> {
    // Events from here on go to the next fetch.
    const batch = [...this.eventRoutes];
    this.eventRoutes = new Map();
    const { redis, namespace } = this.o;
    const raws = await redis.mget(...batch.map(([route]) => keys.table(namespace, route)));
    let changed = false;
    const missing: [route: string, deleted: boolean][] = [];
    batch.forEach(([route, deleted], i) => {
      const raw = raws[i] ?? null;
      if (raw !== null) changed = this.consider(route, raw) || changed;
      else missing.push([route, deleted]);
    });
    if (missing.length > 0) {
      // Only a delete event for a route gone from the index removes it at once; a missing table key alone
      // is refused, and a route that vanished without a delete event (a flush) is left to the grace period.
      const listed = await redis.hmget(keys.index(namespace), ...missing.map(([route]) => route));
      missing.forEach(([route, deleted], i) => {
        const version = listed[i] ?? null;
        if (version !== null)
          this.refuse(route, version, `the index names version ${version} but the table key is missing`);
        else if (deleted) changed = this.remove(route) || changed;
      });
    }
    if (changed) this.publish(true);
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.queue
      .then(() => (this.closed ? undefined : job()))
      .catch(() => {
        // Redis away: the next check retries; the tables in use stay.
      });
    this.queue = run;
    return run;
  }

  /** Validates a table read from Redis; true if it replaced what was loaded. */
  private consider(route: string, raw: string | null): boolean {
    if (raw === null) return this.remove(route);
    let table: RoutingTable;
    try {
      table = validateTable(JSON.parse(raw));
      if (table.route.namespace !== this.o.namespace || table.route.name !== route) {
        throw new Error(
          `holds route ${table.route.namespace}/${table.route.name}, expected ${this.o.namespace}/${route}`,
        );
      }
    } catch (err) {
      this.refuse(route, versionHint(raw), (err as Error).message);
      return false;
    }
    if (this.tables.get(route)?.tableVersion === table.tableVersion) return false;
    this.refused.delete(route);
    this.accept(table);
    return true;
  }

  /** Keeps what is loaded for this route and reports the refused version once. */
  private refuse(route: string, version: string, reason: string): void {
    if (this.refused.get(route) === version) return;
    this.refused.set(route, version);
    this.log(
      `table ${this.o.namespace}/${route} refused, keeping ${this.tables.get(route)?.tableVersion ?? 'none'}: ${reason}`,
    );
    this.o.hooks?.rejected?.(route, reason);
  }

  private accept(table: RoutingTable): void {
    for (const p of this.o.hooks?.prepare?.(table) ?? [])
      this.log(`table ${table.route.name}@${table.tableVersion}: ${p}`);
    this.tables.set(table.route.name, Object.freeze(table));
  }

  private remove(route: string): boolean {
    this.refused.delete(route);
    this.missingSince.delete(route);
    return this.tables.delete(route);
  }

  private publish(save: boolean): void {
    this.snapshot = Object.freeze([...this.tables.values()]);
    if (this.tables.size > 0) this.loaded = true;
    this.o.hooks?.changed?.(this.snapshot);
    if (save && this.o.stateFile) this.save(this.o.stateFile);
  }

  /**
   * Writes the newest snapshot, at most one write at a time: changes that arrive during a write are saved
   * together once it ends. A burst of N table events thus costs a few writes, not N writes of N tables.
   */
  private save(file: string): void {
    if (this.savePending) return;
    this.savePending = true;
    this.saving = this.saving
      .then(() => {
        this.savePending = false;
        return saveState(file, this.o.namespace, this.snapshot);
      })
      .catch((err: unknown) => this.log(`state file ${file} not saved: ${(err as Error).message}`));
  }

  private log(m: string): void {
    this.o.hooks?.log?.(m);
  }
}

/** The version a raw table claims, for reporting a refused table once (the index names the same value). */
function versionHint(raw: string): string {
  const m = /"tableVersion"\s*:\s*"([^"]*)"/.exec(raw);
  return m?.[1] ?? `len:${raw.length}`;
}

function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
