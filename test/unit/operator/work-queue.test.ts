import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from '../../../operator/backoff.js';
import { WorkQueue, type Handler } from '../../../operator/work-queue.js';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function queue(handler: Handler, concurrency = 4, onError?: (k: string, e: unknown, n: number) => void): WorkQueue {
  return new WorkQueue({
    handler,
    concurrency,
    backoff: { baseMs: 5, maxMs: 40 },
    random: () => 0.5,
    ...(onError ? { onError } : {}),
  });
}

describe('backoffDelay', () => {
  it.each([
    [1, 10, 7.5],
    [2, 20, 15],
    [3, 40, 30],
    [10, 40, 30],
  ])('failure %i -> cap %i, half-jittered %d', (failures, _cap, expected) => {
    expect(backoffDelay({ baseMs: 10, maxMs: 40 }, failures, () => 0.5)).toBe(Math.round(expected));
  });
  it('stays within [exp/2, exp]', () => {
    expect(backoffDelay({ baseMs: 100, maxMs: 1000 }, 2, () => 0)).toBe(100);
    expect(backoffDelay({ baseMs: 100, maxMs: 1000 }, 2, () => 0.999999)).toBe(200);
  });
});

describe('WorkQueue', () => {
  it('holds a waiting key once however often it is added', async () => {
    const seen: string[] = [];
    const q = queue(async (k) => void seen.push(k));
    q.add('a/x');
    q.add('a/x');
    q.add('a/y');
    q.add('a/x');
    q.start();
    await q.whenIdle();
    expect(seen.sort()).toEqual(['a/x', 'a/y']);
  });

  it('never runs a key twice at once, and reruns it once if added while in flight', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const q = queue(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await gate.promise;
      running--;
    });
    q.start();
    q.add('ns/r');
    q.add('ns/r');
    q.add('ns/r');
    gate.resolve();
    await q.whenIdle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const q = queue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
    }, 2);
    q.start();
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await new Promise((r) => setImmediate(r));
    expect(maxRunning).toBe(2);
    gate.resolve();
    await q.whenIdle();
  });

  it('retries a failing key with growing backoff and forgets failures after a success', async () => {
    const errors: number[] = [];
    let calls = 0;
    const ok = deferred();
    const q = queue(
      async () => {
        calls++;
        if (calls <= 3) throw new Error('transient');
        ok.resolve();
      },
      1,
      (_k, _e, n) => errors.push(n),
    );
    q.start();
    q.add('ns/r');
    await ok.promise;
    expect(errors).toEqual([1, 2, 3]);
    expect(calls).toBe(4);
    await q.stop();
  });

  it('honours requeueAfter', async () => {
    const times: number[] = [];
    const twice = deferred();
    const q = queue(async () => {
      times.push(Date.now());
      if (times.length === 2) {
        twice.resolve();
        return;
      }
      return { requeueAfterMs: 30 };
    });
    q.start();
    q.add('ns/r');
    await twice.promise;
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(25);
    await q.stop();
  });

  it('collects keys while paused and runs them once started', async () => {
    const seen: string[] = [];
    const q = queue(async (k) => void seen.push(k));
    q.add('a');
    q.add('b');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    q.start();
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b']);
  });
});
