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

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly tables: () => ReadonlyArray<RoutingTable>,
    private readonly recorder: UsageRecorder | undefined,
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

  async refresh(): Promise<void> {
    const wanted = this.tables()
      .map((t) => this.keyOf(t))
      .filter((k): k is string => k !== undefined);
    if (wanted.length === 0) return;
    try {
      const values = await this.redis.mget(...wanted);
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
