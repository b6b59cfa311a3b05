/**
 * `reconcile(key)`: level-triggered, in three steps: get, sync, status. It never looks at which event woke it.
 * Outcomes: an invalid spec or a missing Secret is recorded in status and not retried (the fix is an edit, which
 * wakes us); a transient failure throws and the queue retries with backoff; the last good table stays in Redis
 * until a new valid one replaces it.
 */
import { compile } from '../core/api/compile.js';
import type { FieldProblem } from '../core/api/errors.js';
import type { ModelRoute, RoutingTable, SealedCredential } from '../core/api/types.js';
import { validateRoute } from '../core/api/validate.js';
import { validateTable } from '../core/api/validate-table.js';
import { sealCredential } from '../core/crypto/seal.js';
import { noteReconcile, tableProvenance } from '../telemetry/operator-tracing.js';
import { messageOf } from './errors.js';
import { EventRecorder } from './event-recorder.js';
import type { KubeClient } from './kube-client.js';
import type { Logger } from './log.js';
import type { OperatorMetrics } from './metrics.js';
import type { RedisStore } from './redis-store.js';
import { routeStatus, type SyncOutcome } from './route-status.js';
import { SecretValues } from './secret-values.js';
import { writeStatus } from './status-writer.js';
import type { HandlerResult } from './work-queue.js';

export const FINALIZER = 'modelroute.dev/cleanup';
/** A missing Secret is normally repaired by the Secret watch; this is the safety net if that event is lost. */
const SECRET_RECHECK_MS = 60_000;

export interface ReconcilerDeps {
  kube: KubeClient;
  store: RedisStore;
  log: Logger;
  /** Reads referenced Secret keys; default: a GET per read (the operator passes one cached by resourceVersion). */
  secrets?: SecretValues;
  /** Posts Events off the reconcile path; default: one at a time through `kube`. */
  events?: EventRecorder;
  metrics?: OperatorMetrics;
  /**
   * Reads a route from the informer cache instead of the apiserver. The cache is at least as new as the event that
   * queued the key; if it is older than the object, the resourceVersion on our writes turns that into a 409 and a retry.
   */
  cached?: (namespace: string, name: string) => ModelRoute | undefined;
  /**
   * Told of the route as our own metadata write (the finalizer) leaves it: the watch event for that write carries
   * nothing this reconcile has not already acted on, so it need not queue the route again.
   */
  wrote?: (route: ModelRoute) => void;
  now?: () => Date;
}

export class Reconciler {
  /** Per namespace; a promise so that the first reconciles of a namespace share one read. */
  private readonly dataKeys = new Map<string, Promise<Buffer>>();

  private readonly secrets: SecretValues;
  private readonly events: EventRecorder;

  constructor(private readonly deps: ReconcilerDeps) {
    this.secrets =
      deps.secrets ??
      new SecretValues({ get: (ns, name) => deps.kube.getSecret(ns, name), informerVersion: () => undefined });
    this.events =
      deps.events ??
      new EventRecorder({ post: (r, e) => deps.kube.event(r, e), log: deps.log, concurrency: 1, maxPending: 1000 });
  }

  /** Drops a cached data key (its Secret changed or went away). */
  forgetDataKey(namespace: string): void {
    this.dataKeys.delete(namespace);
  }

  async reconcile(key: string): Promise<HandlerResult | void> {
    const [ns = '', name = ''] = key.split('/');
    let route = this.deps.cached
      ? structuredClone(this.deps.cached(ns, name))
      : await this.deps.kube.getRoute(ns, name);
    if (!route) {
      // Gone without our finalizer (e.g. it was force-removed): make sure no table is left behind anyway.
      if (await this.deps.store.remove(ns, name)) this.deps.metrics?.tablesDeleted.inc();
      noteReconcile({ outcome: 'gone' });
      return;
    }
    if (route.metadata.deletionTimestamp) return this.finalize(route);
    const finalizers = (route.metadata.finalizers as string[] | undefined) ?? [];
    if (!finalizers.includes(FINALIZER)) {
      const withFinalizer = { ...route, metadata: { ...route.metadata, finalizers: [...finalizers, FINALIZER] } };
      // Said before the write as well as after: the watch event may arrive before the response. If the write fails,
      // the reconcile throws and is retried, so nothing waits on that event.
      this.deps.wrote?.(withFinalizer);
      route = await this.deps.kube.replaceRoute(withFinalizer);
      this.deps.wrote?.(route);
    }
    const outcome = await this.sync(route);
    noteReconcile({
      outcome: outcome.kind,
      ...(route.metadata.generation !== undefined && { generation: route.metadata.generation }),
      ...(outcome.kind === 'published' && { tableVersion: outcome.table.tableVersion, wrote: outcome.wrote }),
    });
    const now = this.now();
    const generation = route.metadata.generation;
    const { changed, status } = await writeStatus(this.deps, route, (latest) =>
      routeStatus(latest, outcome, now, generation),
    );
    if (outcome.kind === 'published' && outcome.wrote) {
      this.deps.metrics?.tablesPublished.inc();
      this.event(route, 'Normal', 'Published', `Published routing table ${outcome.table.tableVersion}`);
    }
    // Warnings only when the status changed: a resync of a still-broken route does not spam Events.
    if (changed && outcome.kind === 'invalid') this.event(route, 'Warning', 'Rejected', status?.message ?? '');
    if (changed && outcome.kind === 'secretMissing')
      this.event(route, 'Warning', 'SecretNotFound', status?.message ?? '');
    if (outcome.kind === 'secretMissing') return { requeueAfterMs: SECRET_RECHECK_MS };
  }

  /** Computes the table for the route as it is now and writes it to Redis if Redis holds another version. */
  private async sync(route: ModelRoute): Promise<SyncOutcome> {
    const ns = route.metadata.namespace ?? 'default';
    const problems = validateRoute(route);
    if (problems.length > 0) return { kind: 'invalid', problems };

    const sealed = new Map<string, SealedCredential>();
    const missing: SyncOutcome & { kind: 'secretMissing' } = { kind: 'secretMissing', missing: [] };
    const refs = route.spec.backends.flatMap((b, i) =>
      b.credentialsSecretRef ? [{ ref: b.credentialsSecretRef, i }] : [],
    );
    // Ensured for every namespace with routes, credentials or not: sidecars mount it and expect it there.
    const dataKey = await this.dataKey(ns);
    for (const { ref, i } of refs) {
      const id = `${ref.name}\u0000${ref.key}`;
      if (sealed.has(id)) continue;
      const read = await this.secrets.read(ns, ref.name, ref.key);
      if (!read.found) {
        missing.missing.push({
          field: `spec.backends[${i}].credentialsSecretRef`,
          secret: ref.name,
          key: ref.key,
          why: read.why,
        });
        continue;
      }
      sealed.set(id, sealCredential(read.value, dataKey));
    }
    if (missing.missing.length > 0) return missing;

    let table: RoutingTable;
    try {
      table = compile(route, { seal: (ref) => sealed.get(`${ref.name}\u0000${ref.key}`) });
      // Validate what a sidecar will parse, not the in-memory object: the same check guards both ends.
      validateTable(JSON.parse(JSON.stringify(table)) as unknown);
    } catch (err) {
      const problems = (err as { problems?: FieldProblem[] }).problems ?? [{ field: 'spec', message: messageOf(err) }];
      return { kind: 'invalid', problems };
    }
    // Provenance names this reconcile (and its span) in the table; it is not content, so the version is unchanged.
    const wrote = await this.deps.store.publish({ ...table, provenance: tableProvenance(route.metadata.generation) });
    return { kind: 'published', table, wrote };
  }

  private async finalize(route: ModelRoute): Promise<void> {
    const { namespace = 'default', name } = route.metadata;
    const finalizers = (route.metadata.finalizers as string[] | undefined) ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    if (await this.deps.store.remove(namespace, name)) this.deps.metrics?.tablesDeleted.inc();
    await this.deps.kube.replaceRoute({
      ...route,
      metadata: { ...route.metadata, finalizers: finalizers.filter((f) => f !== FINALIZER) },
    });
    noteReconcile({ outcome: 'finalized' });
    this.deps.log.info('table removed, finalizer released', { route: `${namespace}/${name}` });
  }

  private dataKey(ns: string): Promise<Buffer> {
    let key = this.dataKeys.get(ns);
    if (!key) {
      const read = this.deps.kube.ensureDataKey(ns);
      // A failed read is not kept: the next reconcile of the namespace tries again.
      read.catch(() => {
        if (this.dataKeys.get(ns) === read) this.dataKeys.delete(ns);
      });
      this.dataKeys.set(ns, (key = read));
    }
    return key;
  }

  /** Events are for humans: recorded in the background, and failing to record one never fails the reconcile. */
  private event(route: ModelRoute, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.record(route, { type, reason, message });
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
