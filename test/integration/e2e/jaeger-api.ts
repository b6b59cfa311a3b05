/** Reading what Jaeger stored, through its query API (GET /api/traces/{id}, Jaeger's JSON trace model). */

export interface JaegerTag {
  key: string;
  type: string;
  value: unknown;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: JaegerTag[];
  logs: { timestamp: number; fields: JaegerTag[] }[];
  processID: string;
  startTime: number;
  duration: number;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}

/** The stored trace, or undefined while Jaeger has none with this id. */
export async function getTrace(queryUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`jaeger /api/traces/${traceId} answered ${res.status}: ${await res.text()}`);
  const data = ((await res.json()) as { data?: JaegerTrace[] | null }).data ?? [];
  return data[0];
}

export function tagOf(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

/** All tags as one object, for readable assertions. */
export function tagsOf(span: JaegerSpan): Record<string, unknown> {
  return Object.fromEntries(span.tags.map((t) => [t.key, t.value]));
}

export function serviceOf(trace: JaegerTrace, span: JaegerSpan): string | undefined {
  return trace.processes[span.processID]?.serviceName;
}

/** The span's parent (CHILD_OF reference), as `traceId/spanId`. */
export function parentOf(span: JaegerSpan): string | undefined {
  const ref = span.references.find((r) => r.refType === 'CHILD_OF');
  return ref ? `${ref.traceID}/${ref.spanID}` : undefined;
}

/** Spans of `service` named `operation` (exactly, or matching a RegExp). */
export function spansOf(trace: JaegerTrace, service: string, operation: string | RegExp): JaegerSpan[] {
  return trace.spans.filter(
    (s) =>
      serviceOf(trace, s) === service &&
      (typeof operation === 'string' ? s.operationName === operation : operation.test(s.operationName)),
  );
}

/** An array attribute as Jaeger shows it (a JSON string for OTLP arrays), as an array. */
export function arrayTag(span: JaegerSpan, key: string): unknown[] | undefined {
  const v = tagOf(span, key);
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') {
    try {
      const parsed = JSON.parse(v) as unknown;
      return Array.isArray(parsed) ? parsed : [v];
    } catch {
      return [v];
    }
  }
  return [v];
}
