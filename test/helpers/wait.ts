import { TestEnvError } from './errors.js';

export { freePort } from './ports.js';

export interface WaitOptions {
  /** Deadline for the whole wait (default 10 s). */
  timeoutMs?: number;
  /** Pause between two polls (default 50 ms). */
  intervalMs?: number;
  /** What was awaited, for the timeout error. */
  message?: string | (() => string);
  /** Stops waiting early (for example when the server being polled has exited). */
  signal?: AbortSignal;
}

type Falsy = false | null | undefined | 0 | '';

/**
 * Polls `fn` until it returns a truthy value and resolves with that value. A throw from `fn` counts as
 * "not yet"; the last one is reported in the TEST_ENV_WAIT_TIMEOUT error when the deadline passes.
 * This is how tests synchronise with the world: a condition with a deadline, never a fixed sleep.
 */
export async function waitFor<T>(fn: () => T | Falsy | Promise<T | Falsy>, opts: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, signal } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = typeof opts.message === 'function' ? opts.message() : (opts.message ?? 'condition');
      const last = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new TestEnvError('TEST_ENV_WAIT_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${last}`, {
        cause: lastError,
      });
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}
