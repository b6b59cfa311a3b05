/**
 * Status conditions, Kubernetes style: `Accepted` says whether the spec could be turned into a table,
 * `Ready` whether the table sidecars route by is the one for the current generation. Reasons are constants so
 * users and tests branch on them, not on messages.
 */
import type { Condition, ModelRouteStatus } from '../core/api/types.js';

export const Reason = {
  /** Accepted=True: the spec compiled. */
  Compiled: 'Compiled',
  /** Accepted=False: the spec is invalid; terminal until the spec changes. */
  InvalidSpec: 'InvalidSpec',
  /** Ready=True: the table for this generation is in Redis. */
  Published: 'Published',
  /** Ready=False: a referenced Secret or key in it does not exist. */
  SecretNotFound: 'SecretNotFound',
  /** Ready=False: the spec is not accepted, so nothing new was published. */
  NotAccepted: 'NotAccepted',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Returns `conditions` with `next` set. lastTransitionTime changes only when the status flips, so rewriting the
 * same condition is a no-op and an unchanged route produces no status write.
 */
export function setCondition(conditions: readonly Condition[], next: ConditionInput, now: Date): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const merged: Condition = { ...next, lastTransitionTime };
  const others = conditions.filter((c) => c.type !== next.type);
  return [...others, merged].sort((a, b) => a.type.localeCompare(b.type));
}

export function findCondition(status: ModelRouteStatus | undefined, type: Condition['type']): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Structural equality of two statuses, ignoring key order; decides whether a status write is needed. */
export function sameStatus(a: ModelRouteStatus | undefined, b: ModelRouteStatus | undefined): boolean {
  return stable(a ?? {}) === stable(b ?? {});
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([x], [y]) => x.localeCompare(y));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stable(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
