/**
 * One circuit per backend, so a dead backend costs no latency: after `failureThreshold` consecutive
 * failures (or one 429 carrying Retry-After) it opens and requests skip it at once. After the cool-down
 * (or the Retry-After) one request is let through as a probe; its success closes the circuit, its failure
 * opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold?: number;
  cooldownMs?: number;
  /** Longest Retry-After honoured, so a bogus header cannot disable a backend for a day. */
  maxRetryAfterMs?: number;
  now?: () => number;
}

interface Circuit {
  failures: number;
  openUntil: number;
  probing: boolean;
}

export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly now: () => number;

  constructor(opts: BreakerOptions = {}) {
    this.threshold = opts.failureThreshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 5_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 300_000;
    this.now = opts.now ?? Date.now;
  }

  /** Whether a request may go to this backend now. In half-open state only the first caller gets true. */
  tryPass(key: string): boolean {
    const c = this.circuits.get(key);
    if (!c || c.openUntil === 0) return true;
    if (this.now() < c.openUntil || c.probing) return false;
    c.probing = true;
    return true;
  }

  /** The request let through ended without a verdict (the client left): let the next one probe. */
  release(key: string): void {
    const c = this.circuits.get(key);
    if (c) c.probing = false;
  }

  success(key: string): void {
    const c = this.circuits.get(key);
    if (c) {
      c.failures = 0;
      c.openUntil = 0;
      c.probing = false;
    }
  }

  failure(key: string, retryAfterMs?: number): void {
    let c = this.circuits.get(key);
    if (!c) {
      c = { failures: 0, openUntil: 0, probing: false };
      this.circuits.set(key, c);
    }
    c.failures++;
    const wasProbe = c.probing;
    c.probing = false;
    if (retryAfterMs !== undefined) {
      c.openUntil = this.now() + Math.min(Math.max(retryAfterMs, 0), this.maxRetryAfterMs);
    } else if (wasProbe || c.failures >= this.threshold) {
      c.openUntil = this.now() + this.cooldownMs;
    }
  }

  state(key: string): CircuitState {
    const c = this.circuits.get(key);
    if (!c || c.openUntil === 0) return 'closed';
    return this.now() < c.openUntil && !c.probing ? 'open' : 'half-open';
  }

  /** Milliseconds until this circuit lets a probe through (0 when closed). */
  retryInMs(key: string): number {
    const c = this.circuits.get(key);
    return c ? Math.max(0, c.openUntil - this.now()) : 0;
  }

  entries(): IterableIterator<string> {
    return this.circuits.keys();
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = v0(value)?.trim();
  if (v === undefined || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function v0(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
