/**
 * The operator's spans: one root span per reconcile (`reconcile`, with the route, generation, outcome and the table
 * version written), and the provenance stamped on each table it publishes, so a sidecar request span can name
 * (and link to) the reconcile that produced the table that routed it. Without a tracer, reconciles run untouched
 * and provenance carries only the generation and publish time.
 */
import { SpanKind, SpanStatusCode, TraceFlags, isSpanContextValid, trace, type Span } from '@opentelemetry/api';
import type { TableProvenance } from '../core/api/types.js';
import { MR } from './attributes.js';
import { TRACER_NAME, tracingEnabled } from './otel.js';

/** What a reconcile did, for its span. */
export interface ReconcileNote {
  generation?: number;
  /** published, invalid, secretMissing, deleted, finalized... (errors are recorded by traceReconcile). */
  outcome: string;
  tableVersion?: string;
  /** Whether Redis was written (false: it already held this version). */
  wrote?: boolean;
}

const noted = new WeakSet<Span>();

/**
 * Runs `reconcile(key)` inside a new root span (reconciles are not children of whatever woke them: the queue
 * collapses many events into one run). The span is active for the whole run, so log lines and provenance see it.
 */
export function traceReconcile<T>(key: string, reconcile: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return reconcile();
  const [namespace = '', name = ''] = key.split('/');
  return trace.getTracer(TRACER_NAME).startActiveSpan(
    'reconcile',
    {
      kind: SpanKind.INTERNAL,
      root: true,
      attributes: { [MR.namespace]: namespace, [MR.route]: name, 'k8s.namespace.name': namespace },
    },
    async (span) => {
      try {
        const result = await reconcile();
        if (!noted.has(span)) {
          const requeue = (result as { requeueAfterMs?: number } | undefined)?.requeueAfterMs !== undefined;
          span.setAttribute(MR.outcome, requeue ? 'requeue' : 'success');
        }
        return result;
      } catch (err) {
        safely(() => {
          span.setAttribute(MR.outcome, 'error');
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
        });
        throw err;
      } finally {
        safely(() => span.end());
      }
    },
  );
}

/** Records on the active reconcile span what this reconcile did. A no-op outside one. */
export function noteReconcile(note: ReconcileNote): void {
  const span = trace.getActiveSpan();
  if (!span || !span.isRecording()) return;
  safely(() => {
    noted.add(span);
    span.setAttribute(MR.outcome, note.outcome);
    if (note.generation !== undefined) span.setAttribute(MR.generation, note.generation);
    if (note.tableVersion !== undefined) span.setAttribute(MR.tableVersion, note.tableVersion);
    if (note.wrote !== undefined) span.setAttribute(MR.tableWritten, note.wrote);
  });
}

/** Provenance for a table about to be published by the reconcile running now. */
export function tableProvenance(generation: number | undefined, now: Date = new Date()): TableProvenance {
  const p: TableProvenance = { publishedAt: now.toISOString() };
  if (generation !== undefined) p.generation = generation;
  const c = trace.getActiveSpan()?.spanContext();
  // Only a sampled reconcile is exported: naming an unsampled one would point at a span nobody can find.
  if (c && isSpanContextValid(c) && (c.traceFlags & TraceFlags.SAMPLED) !== 0) {
    p.reconcileTraceId = c.traceId;
    p.reconcileSpanId = c.spanId;
  }
  return p;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Telemetry never changes a reconcile's outcome.
  }
}
