/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random. Jitter spreads the retries
 * of many keys (or many operators after an apiserver restart) so they do not arrive in lock-step.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `failures` (1 = first retry). `random` is injectable so tests are deterministic. */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
