/**
 * A cancellation signal for the request path, cheaper than AbortController. Node's AbortSignal is an
 * EventTarget whose per-request instances outlive a young-generation GC (a heap profile at 4,000 requests/s
 * showed them as a third of everything promoted to the old space), which turns into major GCs and a long
 * latency tail. undici accepts any EventEmitter with `aborted` and `reason` as a request `signal`, so this is
 * enough for the upstream call, the client-gone signal and the retry back-off.
 */
import { EventEmitter } from 'node:events';

export class Cancel extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort', reason);
  }
}

/** Waits `ms`, or until `cancel` aborts (resolves false then, without waiting the rest). */
export function sleepUnless(ms: number, cancel: Cancel): Promise<boolean> {
  if (cancel.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      cancel.off('abort', onAbort);
      resolve(true);
    }, ms);
    cancel.once('abort', onAbort);
  });
}
