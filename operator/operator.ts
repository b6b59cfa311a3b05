/**
 * The operator assembled: informers feed keys into the work queue, the queue runs reconcile while this replica
 * leads, and the Redis guard republishes everything when Redis has lost its data. Tests run it in-process;
 * cli/commands/operator.ts runs it as a program.
 */
import { randomUUID } from 'node:crypto';
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type { ModelRoute } from '../core/api/types.js';
import { traceReconcile } from '../telemetry/operator-tracing.js';
import type { BackoffPolicy } from './backoff.js';
import { DEFAULT_CONCURRENCY } from './config.js';
import { messageOf } from './errors.js';
import { EventRecorder } from './event-recorder.js';
import { Informer, keyOf, type InformerOptions, type KubeObject, type ListWatchSource } from './informer.js';
import { resetConnections } from './kube-api.js';
import { DATA_KEY_SECRET, KubeClient } from './kube-client.js';
import { modelRouteSource, secretIdentity, secretSource } from './kube-sources.js';
import { LeaderElector } from './leader-election.js';
import type { Logger } from './log.js';
import { OperatorMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { RedisGuard } from './redis-guard.js';
import { RedisStore } from './redis-store.js';
import { SecretIndex } from './secret-index.js';
import { SecretValues } from './secret-values.js';
import { WorkQueue } from './work-queue.js';

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  redis: Redis;
  log: Logger;
  /** Watch only these namespaces; undefined = all. */
  namespaces?: string[];
  /** undefined: this replica always leads (single replica, or tests). */
  leaderElection?: LeaderElectionConfig;
  identity?: string;
  concurrency?: number;
  resyncMs?: number;
  watchTimeoutSeconds?: number;
  stallGraceMs?: number;
  redisCheckMs?: number;
  backoff?: BackoffPolicy;
  watchBackoff?: BackoffPolicy;
  metrics?: OperatorMetrics;
  /** Leadership lost: the CLI exits so the pod restarts clean; in-process the queue just pauses. */
  onStoppedLeading?: () => void;
}

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly routeInformers: Informer<ModelRoute>[];
  private readonly secretInformers: Informer<V1Secret>[];
  private readonly secretIndex = new SecretIndex();
  private readonly secretValues: SecretValues;
  private readonly events: EventRecorder;
  /** Per route, what of it we act on: generation, deletion, finalizers, annotations. */
  private readonly seen = new Map<string, string>();
  private readonly elector: LeaderElector | undefined;
  private readonly guard: RedisGuard;
  private leading = false;
  private stopped = false;

  constructor(private readonly opts: OperatorOptions) {
    this.metrics = opts.metrics ?? new OperatorMetrics();
    this.identity = opts.identity ?? `modelroute-operator-${process.pid}-${randomUUID().slice(0, 8)}`;
    const store = new RedisStore(opts.redis);
    const kube = new KubeClient(opts.kubeConfig, 'modelroute-operator', this.identity);
    this.secretValues = new SecretValues({
      get: (ns, name) => kube.getSecret(ns, name),
      informerVersion: (ns, name) => {
        for (const i of this.secretInformers) {
          const s = i.get(`${ns}/${name}`);
          if (s) return s.metadata?.resourceVersion;
        }
        return undefined;
      },
    });
    this.events = new EventRecorder({
      post: (route, e) => kube.event(route, e),
      log: opts.log,
      concurrency: 2,
      maxPending: 1000,
      onDropped: () => this.metrics.eventsDropped.inc(),
    });
    this.reconciler = new Reconciler({
      kube,
      store,
      log: opts.log,
      metrics: this.metrics,
      secrets: this.secretValues,
      events: this.events,
      cached: (ns, name) => {
        for (const i of this.routeInformers) {
          const r = i.get(`${ns}/${name}`);
          if (r) return r;
        }
        return undefined;
      },
      // Our finalizer write comes back as a watch event with a new signature, carrying what this reconcile already
      // acted on: recording the signature first keeps that event from queueing the route a second time.
      wrote: (r) => this.seen.set(keyOf(r), signature(r)),
    });
    this.queue = new WorkQueue({
      handler: (key) => traceReconcile(key, () => this.reconciler.reconcile(key)),
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      backoff: opts.backoff ?? { baseMs: 200, maxMs: 60_000 },
      onError: (key, err, failures) => {
        this.metrics.errors.inc();
        opts.log.warn('reconcile failed, will retry', { route: key, failures, error: messageOf(err) });
      },
      onDone: (_key, outcome, seconds) => {
        this.metrics.reconciles.inc({ result: outcome });
        this.metrics.duration.observe(seconds);
        this.metrics.queueDepth.set(this.queue.depth);
      },
    });
    const namespaces = opts.namespaces?.length ? opts.namespaces : [undefined];
    this.routeInformers = namespaces.map((ns) =>
      this.informer(modelRouteSource(opts.kubeConfig, ns), 'modelroutes', {
        upsert: (r, fromList) => {
          const key = keyOf(r);
          this.secretIndex.set(r);
          // Our own status writes come back as watch events; they change nothing we act on. A relist still
          // delivers every route, so skipping them here never leaves a route unreconciled for long.
          const sig = signature(r);
          if (!fromList && this.seen.get(key) === sig) return;
          this.seen.set(key, sig);
          this.queue.add(key);
        },
        delete: (r) => {
          this.secretIndex.remove(keyOf(r));
          this.seen.delete(keyOf(r));
          this.queue.add(keyOf(r));
        },
      }),
    );
    const onSecret = (s: V1Secret): void => {
      const ns = s.metadata?.namespace ?? '';
      this.secretValues.forget(ns, s.metadata?.name ?? '');
      if (s.metadata?.name === DATA_KEY_SECRET) {
        this.reconciler.forgetDataKey(ns);
        for (const key of this.routeKeys()) if (key.startsWith(`${ns}/`)) this.queue.add(key);
        return;
      }
      for (const key of this.secretIndex.routesFor(keyOf(s))) this.queue.add(key);
    };
    this.secretInformers = namespaces.map((ns) =>
      this.informer(
        secretSource(opts.kubeConfig, ns),
        'secrets',
        { upsert: onSecret, delete: onSecret },
        secretIdentity,
      ),
    );
    this.guard = new RedisGuard({
      redis: opts.redis,
      store,
      log: opts.log,
      checkMs: opts.redisCheckMs ?? 5_000,
      epochPrefix: this.identity,
      onChecked: () => this.metrics.redisChecks.inc(),
      onReconnect: () => {
        opts.log.info('Redis reconnected: rechecking every route');
        this.requeueAll();
      },
      onLost: () => {
        this.metrics.redisResyncs.inc();
        this.requeueAll();
      },
    });
    if (opts.leaderElection) {
      this.elector = new LeaderElector({
        kubeConfig: opts.kubeConfig,
        identity: this.identity,
        log: opts.log,
        ...opts.leaderElection,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
  }

  start(): void {
    for (const i of [...this.routeInformers, ...this.secretInformers]) i.start();
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  /** Releases the lease (so a standby takes over at once), then stops the loops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.guard.stop();
    await this.queue.stop();
    await this.events.stop();
    await this.elector?.release();
    await Promise.all([...this.routeInformers, ...this.secretInformers].map((i) => i.stop()));
    this.metrics.leader.set(0);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready once every informer has listed and Redis is connected. */
  get ready(): boolean {
    return (
      [...this.routeInformers, ...this.secretInformers].every((i) => i.synced) && this.opts.redis.status === 'ready'
    );
  }

  /** The informers, for tests and the admin endpoint. */
  get informers(): { routes: Informer<ModelRoute>[]; secrets: Informer<V1Secret>[] } {
    return { routes: this.routeInformers, secrets: this.secretInformers };
  }

  /** Resolves when the queue has nothing to do (used by the benchmark and tests). */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  private startLeading(): void {
    if (this.stopped || this.leading) return;
    this.leading = true;
    this.metrics.leader.set(1);
    this.queue.start();
    // Claim the epoch first, then requeue: if Redis is flushed while we republish, the epoch goes with it and the
    // guard starts over, so a flush can never leave the epoch standing over missing tables.
    this.guard.start();
    this.requeueAll();
  }

  private stopLeading(): void {
    if (!this.leading) return;
    this.leading = false;
    this.metrics.leader.set(0);
    this.queue.pause();
    this.guard.stop();
    this.opts.onStoppedLeading?.();
  }

  private requeueAll(): void {
    for (const key of this.routeKeys()) this.queue.add(key);
  }

  private routeKeys(): string[] {
    return this.routeInformers.flatMap((i) => i.list().map((r) => keyOf(r)));
  }

  private informer<T extends KubeObject>(
    source: ListWatchSource<T>,
    resource: string,
    handlers: { upsert(o: T, fromList: boolean): void; delete(o: T): void },
    transform?: (o: T) => T,
  ): Informer<T> {
    const opts: InformerOptions<T> = {
      source,
      handlers: {
        ...handlers,
        error: (err, phase) => {
          this.metrics.watchRestarts.inc({ resource, cause: 'error' });
          this.opts.log.warn('informer restarting after error', {
            resource: source.description,
            phase,
            error: messageOf(err),
          });
        },
        stalled: () => {
          this.metrics.watchRestarts.inc({ resource, cause: 'stalled' });
          this.opts.log.warn('watch stalled: relisting and dropping pooled apiserver connections', {
            resource: source.description,
          });
          resetConnections();
        },
        expired: () => this.metrics.watchRestarts.inc({ resource, cause: 'expired' }),
      },
      watchTimeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
      stallGraceMs: this.opts.stallGraceMs ?? 30_000,
      resyncMs: this.opts.resyncMs ?? 10 * 60_000,
      listTimeoutMs: 60_000,
      backoff: this.opts.watchBackoff ?? { baseMs: 500, maxMs: 30_000 },
      ...(transform ? { transform } : {}),
    };
    return new Informer<T>(opts);
  }
}

function signature(r: ModelRoute): string {
  const m = r.metadata;
  return JSON.stringify([m.generation, m.deletionTimestamp ?? null, m.finalizers ?? [], m.annotations ?? {}]);
}
