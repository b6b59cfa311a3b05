/**
 * Redis is a cache of the cluster's truth. The leader stamps `mr:operator:epoch` with a value of its own; when
 * that value is gone or different (FLUSHALL, Redis restarted empty, a failover to an empty replica) the tables
 * may be gone too, so it stamps a new epoch and requeues every route. Checked periodically and at once on every
 * (re)connect, so a restart is repaired as soon as Redis answers again.
 */
import type { Redis } from 'ioredis';
import { messageOf } from './errors.js';
import type { Logger } from './log.js';
import type { RedisStore } from './redis-store.js';

export interface RedisGuardOptions {
  redis: Redis;
  store: RedisStore;
  log: Logger;
  checkMs: number;
  epochPrefix: string;
  /** Redis lost the epoch: republish everything. */
  onLost(): void;
  /** Each completed check, for metrics. */
  onChecked?(): void;
  /**
   * Redis came back after a disconnect. A crash can lose the last second of the AOF while the epoch survives, so
   * the caller rechecks every route (cheap: unchanged tables are not rewritten).
   */
  onReconnect?(): void;
}

export class RedisGuard {
  private epoch: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private running = false;
  private connectedBefore = false;
  private readonly onReady = (): void => {
    if (this.connectedBefore) this.opts.onReconnect?.();
    this.connectedBefore = true;
    void this.check();
  };

  constructor(private readonly opts: RedisGuardOptions) {}

  /** Claims the epoch (the caller requeues everything itself) and starts watching it. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.epoch = this.newEpoch();
    this.opts.store.setEpoch(this.epoch).catch((err: unknown) => {
      // The next check sees the epoch missing and republishes: nothing is lost by failing here.
      this.opts.log.warn('could not write the operator epoch', { error: messageOf(err) });
    });
    this.connectedBefore = this.opts.redis.status === 'ready';
    this.opts.redis.on('ready', this.onReady);
    this.timer = setInterval(() => void this.check(), this.opts.checkMs);
    this.timer.unref();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.timer);
    this.opts.redis.off('ready', this.onReady);
  }

  async check(): Promise<void> {
    if (!this.running || this.checking) return;
    this.checking = true;
    try {
      const current = await this.opts.store.getEpoch();
      this.opts.onChecked?.();
      if (!this.running || current === this.epoch) return;
      this.opts.log.warn('Redis lost the operator epoch: republishing every routing table', {
        expected: this.epoch,
        found: current,
      });
      this.epoch = this.newEpoch();
      await this.opts.store.setEpoch(this.epoch);
      this.opts.onLost();
    } catch (err) {
      this.opts.log.debug('epoch check failed (Redis unavailable?)', { error: messageOf(err) });
    } finally {
      this.checking = false;
    }
  }

  private newEpoch(): string {
    return `${this.opts.epochPrefix}:${Date.now()}`;
  }
}
