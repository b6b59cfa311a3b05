/**
 * Counts requests, tokens and cost in memory and flushes them to Redis in batches, off the request path.
 *
 * Exactly-once without transactions across the network: each recorder is a writer with a random id, and
 * its batches carry increasing sequence numbers. A Lua script applies a batch only if its number is above
 * the writer's last applied one (`mr:{ns}:writer:<id>`), so a batch retried after a lost reply is never
 * counted twice, and Redis holds one small key per sidecar, not one per flush. Only one batch is in flight
 * at a time; while it is unacknowledged (Redis away, reply lost) it is retried with the same number, and everything recorded meanwhile accumulates in the pending map, merged
 * field by field. Memory is therefore bounded by the number of distinct counters (routes x backends x
 * metrics), never by the length of an outage, and no count is ever dropped.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RoutingTable, TableBackend } from '../core/api/types.js';
import { budgetBucket, keys } from './redis-keys.js';

const APPLY_BATCH = `
local seq = tonumber(ARGV[1])
if seq <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
redis.call('SET', KEYS[1], seq, 'EX', 86400)
local n = tonumber(ARGV[2])
for i = 1, n do
  redis.call('HINCRBY', KEYS[2], ARGV[2 * i + 1], ARGV[2 * i + 2])
end
local a = 2 * n + 3
for k = 3, #KEYS do
  redis.call('INCRBY', KEYS[k], ARGV[a])
  redis.call('EXPIRE', KEYS[k], ARGV[a + 1])
  a = a + 2
end
return 1`;

interface Batch {
  seq: number;
  fields: Map<string, number>;
  spend: Map<string, { amount: number; ttl: number }>;
}

export interface UsageEvent {
  table: RoutingTable;
  backend: TableBackend;
  input: number;
  output: number;
  at?: number;
}

export class UsageRecorder {
  private fields = new Map<string, number>();
  private spend = new Map<string, { amount: number; ttl: number }>();
  private inflight: Batch | undefined;
  private readonly writerId = randomUUID();
  private seq = 0;
  private readonly fieldNames = new Map<string, string[]>();
  private flushing: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Failed flush attempts, for metrics. */
  failures = 0;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly opts: {
      flushMs?: number;
      onError?: (err: Error) => void;
      /** A batch's budget spend is now in Redis (so readers that cache it can add it at once). */
      onSpendApplied?: (spend: ReadonlyMap<string, { amount: number }>) => void;
    } = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushMs ?? 1_000);
    this.timer.unref();
  }

  /** Micro-USD: tokens x USD-per-million-tokens is micro-USD, rounded once per request. */
  static costMicroUSD(b: TableBackend, input: number, output: number): number {
    return Math.round(input * b.pricing.inputPerMillion + output * b.pricing.outputPerMillion);
  }

  record(e: UsageEvent): number {
    const cost = UsageRecorder.costMicroUSD(e.backend, e.input, e.output);
    const route = e.table.route.name;
    const f = this.fieldsOf(route, e.backend.name);
    for (let i = 0; i < f.length; i += 4) {
      this.add(f[i]!, 1);
      this.add(f[i + 1]!, e.input);
      this.add(f[i + 2]!, e.output);
      this.add(f[i + 3]!, cost);
    }
    const budget = e.table.budget;
    if (budget && cost > 0) {
      const bucket = budgetBucket(budget.period, e.at ?? Date.now());
      const key = keys.spend(this.namespace, route, budget.period, bucket.start);
      const s = this.spend.get(key);
      if (s) s.amount += cost;
      else this.spend.set(key, { amount: cost, ttl: bucket.periodSeconds * 2 });
    }
    return cost;
  }

  /** Spend recorded here but not yet acknowledged by Redis, for a budget key. */
  unflushedSpend(key: string): number {
    return (this.spend.get(key)?.amount ?? 0) + (this.inflight?.spend.get(key)?.amount ?? 0);
  }

  /** Counters not yet in Redis (pending plus in flight), for metrics and tests. */
  pendingFields(): number {
    return this.fields.size + (this.inflight?.fields.size ?? 0);
  }

  /** Sends the in-flight batch (or cuts a new one); resolves true when nothing is left unacknowledged. */
  flush(): Promise<boolean> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async flushOnce(): Promise<boolean> {
    for (;;) {
      if (!this.inflight) {
        if (this.fields.size === 0 && this.spend.size === 0) return true;
        this.inflight = { seq: ++this.seq, fields: this.fields, spend: this.spend };
        this.fields = new Map();
        this.spend = new Map();
      }
      const b = this.inflight;
      const spendKeys = [...b.spend.keys()];
      const args: (string | number)[] = [b.seq, b.fields.size];
      for (const [f, v] of b.fields) args.push(f, v);
      for (const k of spendKeys) {
        const s = b.spend.get(k)!;
        args.push(s.amount, s.ttl);
      }
      try {
        await this.redis.eval(
          APPLY_BATCH,
          2 + spendKeys.length,
          keys.writer(this.namespace, this.writerId),
          keys.usage(this.namespace),
          ...spendKeys,
          ...args,
        );
        this.inflight = undefined;
        if (b.spend.size > 0) this.opts.onSpendApplied?.(b.spend);
      } catch (err) {
        this.failures++;
        this.opts.onError?.(err as Error);
        return false;
      }
    }
  }

  /** The twelve hash fields a request on this route and backend adds to, built once per pair. */
  private fieldsOf(route: string, backend: string): string[] {
    const key = `${route}/${backend}`;
    let f = this.fieldNames.get(key);
    if (!f) {
      f = ['ns', `route:${route}`, `backend:${key}`].flatMap((scope) =>
        ['requests', 'input_tokens', 'output_tokens', 'cost_microusd'].map((m) => `${scope}|${m}`),
      );
      this.fieldNames.set(key, f);
    }
    return f;
  }

  private add(field: string, n: number): void {
    this.fields.set(field, (this.fields.get(field) ?? 0) + n);
  }
}
