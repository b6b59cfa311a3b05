/**
 * Log correlation: the trace and span ids of the active span, to merge into a JSON log line, so a log search
 * and a Jaeger trace point at each other. Cheap when nothing is traced (one context lookup, no allocation).
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';

export interface TraceFields {
  trace_id?: string;
  span_id?: string;
}

const NONE: TraceFields = Object.freeze({});

/** `{ trace_id, span_id }` of the active span, or `{}` outside a traced operation. */
export function traceFields(): TraceFields {
  const span = trace.getActiveSpan();
  if (!span) return NONE;
  const c = span.spanContext();
  return isSpanContextValid(c) ? { trace_id: c.traceId, span_id: c.spanId } : NONE;
}

/** One JSON log line (no newline) with the active span's ids after the given fields. */
export function jsonLogLine(fields: Record<string, unknown>): string {
  return JSON.stringify({ ...fields, ...traceFields() });
}
