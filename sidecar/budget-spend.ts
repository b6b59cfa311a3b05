/**
 * Each route's spend in its current budget period, read from Redis on a timer into memory so that
 * decide() can ask for it synchronously. What this sidecar recorded but has not flushed yet is added, so a
 * burst is counted before its batch lands.
 */
import type { Redis } from 'ioredis';
import type { RoutingTable } from '../core/api/types.js';
import { budgetBucket, keys } from './redis-keys.js';
import type { UsageRecorder } from './usage-recorder.js';

export class BudgetSpend {
  private readonly microUSD = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Counts batches applied by this sidecar, so a read that raced one is not trusted over it. */
  private appliedBatches = 0;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly tables: () => ReadonlyArray<RoutingTable>,
    private readonly recorder: Pick<UsageRecorder, 'unflushedSpend'> | undefined,
    private readonly opts: { refreshMs?: number; now?: () => number } = {},
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  spentUSD(table: RoutingTable): number {
    const key = this.keyOf(table);
    if (!key) return 0;
    return ((this.microUSD.get(key) ?? 0) + (this.recorder?.unflushedSpend(key) ?? 0)) / 1e6;
  }

  /**
   * A batch from this sidecar just landed in Redis: its spend leaves the recorder's unflushed figure now,
   * so it is added here at once rather than at the next read.
   */
  applied(spend: ReadonlyMap<string, { amount: number }>): void {
    this.appliedBatches++;
    for (const [k, s] of spend) this.microUSD.set(k, (this.microUSD.get(k) ?? 0) + s.amount);
  }

  async refresh(): Promise<void> {
    const wanted = this.tables()
      .map((t) => this.keyOf(t))
      .filter((k): k is string => k !== undefined);
    if (wanted.length === 0) return;
    const before = this.appliedBatches;
    try {
      const values = await this.redis.mget(...wanted);
      // A batch applied while this read was in flight may be missing from it: keep the local figures.
      if (this.appliedBatches !== before) return;
      this.microUSD.clear();
      wanted.forEach((k, i) => this.microUSD.set(k, Number(values[i] ?? 0) || 0));
    } catch {
      // Redis away: keep the last figures; the local unflushed spend still grows.
    }
  }

  private keyOf(table: RoutingTable): string | undefined {
    const b = table.budget;
    if (!b) return undefined;
    return keys.spend(
      this.namespace,
      table.route.name,
      b.period,
      budgetBucket(b.period, (this.opts.now ?? Date.now)()).start,
    );
  }
}
