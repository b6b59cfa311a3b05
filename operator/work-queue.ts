/**
 * A work queue keyed by `namespace/name`, shaped like client-go's workqueue: a key waiting is held once however
 * often it is added; a key is processed by one worker at a time (added again while in flight, it runs once more
 * afterwards, so no change is lost); a failing key is retried with per-key exponential backoff; a handler can ask
 * to run again after a delay (requeueAfter). Keys, not events: the handler reads the current state itself.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export interface HandlerResult {
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<HandlerResult | void>;

export interface WorkQueueOptions {
  handler: Handler;
  concurrency: number;
  backoff: BackoffPolicy;
  /** Called with each failure (after which the key is retried with backoff). */
  onError?: (key: string, err: unknown, failures: number) => void;
  /** Called after each handler run, for metrics. */
  onDone?: (key: string, outcome: 'success' | 'error' | 'requeue', seconds: number) => void;
  random?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while in flight: they go back in the queue when the worker finishes. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private idleWaiters: (() => void)[] = [];
  private paused = true;
  private stopped = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  /** Starts the workers (a paused queue still collects keys, so a standby keeps knowing what to do). */
  start(): void {
    if (this.stopped) return;
    this.paused = false;
    this.pump();
  }

  /** Stops handing out work (leadership lost); in-flight handlers finish, keys keep collecting. */
  pause(): void {
    this.paused = true;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds `key` after `ms`; of several pending delays for a key, the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forgets a key's failure history and pending delay (the object is gone). */
  forget(key: string): void {
    this.failures.delete(key);
    const t = this.timers.get(key);
    if (t) clearTimeout(t.timer);
    this.timers.delete(key);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** No key waiting and none in flight (delayed retries do not count). */
  get idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  /** Resolves the next time the queue is idle. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and waits for in-flight handlers; keys still queued are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.paused = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirty.clear();
    while (this.processing.size > 0) await this.whenIdle();
  }

  private pump(): void {
    while (!this.paused && this.processing.size < this.opts.concurrency) {
      const key = this.queue.shift();
      if (key === undefined) break;
      this.queued.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    if (this.idle) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string): Promise<void> {
    const started = performance.now();
    let outcome: 'success' | 'error' | 'requeue' = 'success';
    try {
      const result = await this.opts.handler(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) {
        outcome = 'requeue';
        this.addAfter(key, result.requeueAfterMs);
      }
    } catch (err) {
      outcome = 'error';
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.opts.onError?.(key, err, n);
      this.addAfter(key, backoffDelay(this.opts.backoff, n, this.opts.random));
    } finally {
      this.opts.onDone?.(key, outcome, (performance.now() - started) / 1000);
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
