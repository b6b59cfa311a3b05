/**
 * A list+watch supervisor that keeps a cache of one resource and survives what real watches do.
 *
 * client-node's ListWatch stops on any error other than 410, so we own the loop:
 * - 410 Gone (our resourceVersion was compacted away) -> relist.
 * - errors and dropped connections -> relist after a jittered exponential backoff.
 * - silent stalls: every watch asks the apiserver to end it after `watchTimeoutSeconds`; a watch still open
 *   `stallGraceMs` after that is a dead connection (a half-open TCP socket never errors), so we abort and relist.
 * - a periodic relist every `resyncMs` re-delivers every object, so anything missed is reconciled anyway.
 * A normal server-side close re-watches from the last resourceVersion without relisting.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { withTimeout } from './errors.js';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchHandle {
  abort(): void;
}

/** Where objects come from: the apiserver in production, a script in unit tests. */
export interface ListWatchSource<T> {
  readonly description: string;
  list(): Promise<ListResult<T>>;
  watch(
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<WatchHandle>;
}

export interface InformerHandlers<T> {
  /** `fromList`: delivered by a (re)list rather than a watch event; every object is re-delivered then. */
  upsert(obj: T, fromList: boolean): void;
  delete(obj: T): void;
  /** After each successful list: the cache now mirrors the server. */
  synced?(): void;
  error?(err: unknown, phase: 'list' | 'watch'): void;
  /** A watch went silent past its deadline: other connections to the apiserver may be half-open too. */
  stalled?(): void;
  /** The watch's resourceVersion expired (410); a relist follows. */
  expired?(): void;
}

export interface InformerOptions<T> {
  source: ListWatchSource<T>;
  handlers: InformerHandlers<T>;
  watchTimeoutSeconds: number;
  stallGraceMs: number;
  resyncMs: number;
  listTimeoutMs: number;
  backoff: BackoffPolicy;
  /** Trims what the cache keeps (e.g. a Secret's data); the handlers see the trimmed object. */
  transform?: (obj: T) => T;
  random?: () => number;
}

export type InformerState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

type WatchEnd = 'closed' | 'expired' | 'stalled' | 'resync' | 'stopped';

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private lastListAt = 0;
  private failures = 0;
  private stopped = false;
  private current: { handle?: WatchHandle; finish(end: WatchEnd): void } | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private hasSynced = false;
  state: InformerState = 'idle';
  readonly stats = { lists: 0, watches: 0, errors: 0, expired: 0, stalls: 0 };

  constructor(private readonly opts: InformerOptions<T>) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.finish('stopped');
    this.wake?.();
    await this.loop;
    this.state = 'stopped';
  }

  /** True once a list has succeeded: the cache may be used. */
  get synced(): boolean {
    return this.hasSynced;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Forces a relist now (e.g. a caller knows the watch missed something). */
  relist(): void {
    this.lastListAt = 0;
    this.current?.finish('resync');
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.doList();
        for (;;) {
          const end = await this.watchOnce();
          if (this.stopped || end !== 'closed') break;
        }
      } catch (err) {
        if (this.stopped) break;
        this.stats.errors++;
        this.failures++;
        this.opts.handlers.error?.(err, this.state === 'listing' ? 'list' : 'watch');
        this.state = 'backoff';
        await this.sleep(backoffDelay(this.opts.backoff, this.failures, this.opts.random));
      }
    }
  }

  private async doList(): Promise<void> {
    this.state = 'listing';
    const result = await withTimeout(
      this.opts.source.list(),
      this.opts.listTimeoutMs,
      `list ${this.opts.source.description}`,
    );
    if (this.stopped) return;
    this.stats.lists++;
    this.lastListAt = Date.now();
    this.resourceVersion = result.resourceVersion;
    const seen = new Set<string>();
    for (const raw of result.items) {
      const obj = this.trim(raw);
      const key = keyOf(obj);
      seen.add(key);
      this.cache.set(key, obj);
      this.opts.handlers.upsert(obj, true);
    }
    for (const [key, obj] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.opts.handlers.delete(obj);
      }
    }
    this.hasSynced = true;
    this.opts.handlers.synced?.();
  }

  private watchOnce(): Promise<WatchEnd> {
    if (this.stopped) return Promise.resolve('stopped');
    this.state = 'watching';
    this.stats.watches++;
    const { watchTimeoutSeconds, stallGraceMs, resyncMs } = this.opts;
    return new Promise<WatchEnd>((resolve, reject) => {
      let settled = false;
      let receivedAny = false;
      const stallMs = watchTimeoutSeconds * 1000 + stallGraceMs;
      const resyncIn = Math.max(0, this.lastListAt + resyncMs - Date.now());
      const timer = setTimeout(
        () => {
          if (resyncIn < stallMs) return finish('resync');
          this.stats.stalls++;
          this.opts.handlers.stalled?.();
          finish('stalled');
        },
        Math.min(stallMs, resyncIn),
      );
      const self: { handle?: WatchHandle; finish(end: WatchEnd): void } = { finish: (end) => finish(end) };
      const finish = (end: WatchEnd | Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.current === self) this.current = undefined;
        self.handle?.abort();
        if (end instanceof Error) reject(end);
        else resolve(end);
      };
      this.current = self;
      const onEvent = (type: string, obj: unknown): void => {
        if (settled) return;
        receivedAny = true;
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string } | undefined;
          if (status?.code === 410) {
            this.stats.expired++;
            this.opts.handlers.expired?.();
            return finish('expired');
          }
          return finish(new Error(`watch ${this.opts.source.description}: ${status?.message ?? 'error event'}`));
        }
        const o = obj as T;
        const rv = o.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        // A healthy stream resets the backoff: the next failure starts from the base delay again.
        this.failures = 0;
        const trimmed = this.trim(o);
        const key = keyOf(trimmed);
        if (type === 'DELETED') {
          this.cache.delete(key);
          this.opts.handlers.delete(trimmed);
        } else {
          this.cache.set(key, trimmed);
          this.opts.handlers.upsert(trimmed, false);
        }
      };
      const onDone = (err: unknown): void => {
        if (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          // A watch that fails with 410 on open is the same as an expired event.
          if ((err as { statusCode?: number }).statusCode === 410) {
            this.stats.expired++;
            this.opts.handlers.expired?.();
            return finish('expired');
          }
          return finish(e);
        }
        // A close with no event at all, right after opening, is a server refusing us: treat as an error so it backs off.
        finish(
          receivedAny || Date.now() - openedAt > 1000
            ? 'closed'
            : new Error(`watch ${this.opts.source.description} closed immediately`),
        );
      };
      const openedAt = Date.now();
      this.opts.source.watch(this.resourceVersion, watchTimeoutSeconds, onEvent, onDone).then(
        (handle) => {
          self.handle = handle;
          if (settled) handle.abort();
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  private trim(obj: T): T {
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}
