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
 *
 * With a `pendingFile`, what Redis has not acknowledged at close() (Redis away at shutdown) is saved there with
 * its writer id and sequence numbers, and the next start replays it first, through the same check
 * (sidecar/usage-file.ts). Only a SIGKILL or a lost disk loses counts.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RoutingTable, TableBackend } from '../core/api/types.js';
import { budgetBucket, keys } from './redis-keys.js';
import { loadUsageBatches, saveUsageBatches, type UsageBatch } from './usage-file.js';

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
  private inflight: UsageBatch | undefined;
  /** Batches an earlier run of this sidecar left unacknowledged (from `pendingFile`), sent before new ones. */
  private replay: UsageBatch[] = [];
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
      /** Where unacknowledged batches are kept across a restart. */
      pendingFile?: string;
      log?: (message: string) => void;
    } = {},
  ) {}

  /** Loads what an earlier run left in `pendingFile`; it is replayed by the next flush. */
  async restore(): Promise<void> {
    if (!this.opts.pendingFile) return;
    this.replay = await loadUsageBatches(this.opts.pendingFile, this.namespace, this.log);
    if (this.replay.length > 0)
      this.log(`replaying ${this.replay.length} usage batch(es) left unflushed by the previous run`);
  }

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
    let n = (this.spend.get(key)?.amount ?? 0) + (this.inflight?.spend.get(key)?.amount ?? 0);
    for (const b of this.replay) n += b.spend.get(key)?.amount ?? 0;
    return n;
  }

  /** Counters not yet in Redis (pending plus in flight), for metrics and tests. */
  pendingFields(): number {
    let n = this.fields.size + (this.inflight?.fields.size ?? 0);
    for (const b of this.replay) n += b.fields.size;
    return n;
  }

  /** Sends the in-flight batch (or cuts a new one); resolves true when nothing is left unacknowledged. */
  flush(): Promise<boolean> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Flushes; what Redis does not acknowledge is saved to `pendingFile` (if set) for the next start. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if ((await this.flush()) || !this.opts.pendingFile) return;
    const left = [...this.replay];
    if (this.inflight) left.push(this.inflight);
    if (this.fields.size > 0 || this.spend.size > 0)
      left.push({ writer: this.writerId, seq: ++this.seq, fields: this.fields, spend: this.spend });
    try {
      await saveUsageBatches(this.opts.pendingFile, this.namespace, left);
      this.log(`Redis unavailable at shutdown: ${left.length} usage batch(es) saved to ${this.opts.pendingFile}`);
    } catch (err) {
      this.log(`usage not flushed and not saved to ${this.opts.pendingFile}: ${(err as Error).message}`);
    }
  }

  private async flushOnce(): Promise<boolean> {
    while (this.replay.length > 0) {
      if (!(await this.apply(this.replay[0]!))) return false;
      this.replay.shift();
      // The file follows the replay, so a stop in the middle neither loses nor repeats a batch.
      await saveUsageBatches(this.opts.pendingFile!, this.namespace, this.replay).catch((err: Error) =>
        this.log(`usage file ${this.opts.pendingFile}: ${err.message}`),
      );
    }
    for (;;) {
      if (!this.inflight) {
        if (this.fields.size === 0 && this.spend.size === 0) return true;
        this.inflight = { writer: this.writerId, seq: ++this.seq, fields: this.fields, spend: this.spend };
        this.fields = new Map();
        this.spend = new Map();
      }
      if (!(await this.apply(this.inflight))) return false;
      this.inflight = undefined;
    }
  }

  /** Sends one batch; true once Redis acknowledged it (applied now, or already applied before). */
  private async apply(b: UsageBatch): Promise<boolean> {
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
        keys.writer(this.namespace, b.writer),
        keys.usage(this.namespace),
        ...spendKeys,
        ...args,
      );
    } catch (err) {
      this.failures++;
      this.opts.onError?.(err as Error);
      return false;
    }
    if (b.spend.size > 0) this.opts.onSpendApplied?.(b.spend);
    return true;
  }

  private readonly log = (m: string): void => this.opts.log?.(m);

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
