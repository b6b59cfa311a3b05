/**
 * Kubernetes Events off the reconcile path, as client-go's recorder does it: `record` hands an Event over and
 * returns at once; a small pool of workers posts them. Events are for humans and best effort, so a reconcile
 * never waits on one, never fails because of one, and when more than `maxPending` are waiting (an apiserver
 * that is down or slow) new ones are dropped and counted rather than held without bound.
 *
 * A cold start publishes every table and so records one `Published` Event per route; posting them inside the
 * reconcile made each route wait for a third apiserver write before the next route could start.
 */
import type { ModelRoute } from '../core/api/types.js';
import { messageOf } from './errors.js';
import type { RouteEvent } from './kube-client.js';
import type { Logger } from './log.js';

export interface EventRecorderOptions {
  post(route: ModelRoute, event: RouteEvent): Promise<void>;
  log: Logger;
  /** Events posted in parallel. */
  concurrency: number;
  /** Events waiting beyond this are dropped. */
  maxPending: number;
  onDropped?: () => void;
}

export class EventRecorder {
  private readonly pending: { route: ModelRoute; event: RouteEvent }[] = [];
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: EventRecorderOptions) {}

  /** Queues an Event about `route` (its identity is captured now). */
  record(route: ModelRoute, event: RouteEvent): void {
    if (this.stopped) return;
    if (this.pending.length >= this.opts.maxPending) {
      this.opts.onDropped?.();
      return;
    }
    const { name, namespace, uid, resourceVersion } = route.metadata;
    // Only what the Event names; the route object itself may be mutated by whoever holds it next.
    this.pending.push({ route: { ...route, metadata: { name, namespace, uid, resourceVersion } }, event });
    this.pump();
  }

  /** Resolves once nothing is waiting or being posted (for tests and the benchmark). */
  whenIdle(): Promise<void> {
    if (this.active === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what is waiting and waits for the Events being posted. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.length = 0;
    await this.whenIdle();
  }

  private pump(): void {
    while (this.active < this.opts.concurrency) {
      const next = this.pending.shift();
      if (!next) break;
      this.active++;
      void this.post(next.route, next.event);
    }
    if (this.active === 0 && this.pending.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async post(route: ModelRoute, event: RouteEvent): Promise<void> {
    try {
      await this.opts.post(route, event);
    } catch (err) {
      this.opts.log.warn('could not record event', {
        route: `${route.metadata.namespace}/${route.metadata.name}`,
        reason: event.reason,
        error: messageOf(err),
      });
    } finally {
      this.active--;
      this.pump();
    }
  }
}
