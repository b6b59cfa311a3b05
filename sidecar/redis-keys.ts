/**
 * The Redis layout shared with the operator (docs/sidecar.md). Every key of a namespace carries the hash tag
 * `{<ns>}`, so in Redis Cluster one namespace lives in one slot and a Lua script may touch all of it.
 */
import type { BudgetPeriod } from '../core/api/types.js';

export const keys = {
  table: (ns: string, route: string) => `mr:{${ns}}:table:${route}`,
  version: (ns: string, route: string) => `mr:{${ns}}:version:${route}`,
  index: (ns: string) => `mr:{${ns}}:index`,
  events: (ns: string) => `mr:{${ns}}:events`,
  usage: (ns: string) => `mr:{${ns}}:usage`,
  /** Last usage batch applied from one sidecar process (exactly-once flushes). */
  writer: (ns: string, id: string) => `mr:{${ns}}:writer:${id}`,
  spend: (ns: string, route: string, period: BudgetPeriod, bucketStart: string) =>
    `mr:{${ns}}:spend:${route}:${period}:${bucketStart}`,
};

/** Start of the UTC budget period containing `at`, and the period's length (for the key's expiry). */
export function budgetBucket(period: BudgetPeriod, at: number): { start: string; periodSeconds: number } {
  const d = new Date(at);
  switch (period) {
    case 'hour':
      return {
        start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours())).toISOString(),
        periodSeconds: 3600,
      };
    case 'day':
      return {
        start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString(),
        periodSeconds: 86_400,
      };
    case 'month':
      return {
        start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString(),
        periodSeconds: 31 * 86_400,
      };
  }
}
