/** Reconcile spans, table provenance and the telemetry error handler, against an in-memory span exporter. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { noteReconcile, tableProvenance, traceReconcile } from '../../../telemetry/operator-tracing.js';
import { rateLimitedErrorHandler, setTracingEnabled } from '../../../telemetry/otel.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  setTracingEnabled(false);
  await provider.shutdown();
});
beforeEach(() => {
  exporter.reset();
  setTracingEnabled(true);
});

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('traceReconcile', () => {
  it('gives each reconcile a root span that provenance and notes see across awaits', async () => {
    let provenance;
    await trace.getTracer('t').startActiveSpan('some caller', async (caller) => {
      await traceReconcile('apps/chat', async () => {
        await tick();
        provenance = tableProvenance(4, new Date('2026-11-28T16:00:00Z'));
        noteReconcile({ generation: 4, outcome: 'published', tableVersion: 'abc', wrote: true });
      });
      caller.end();
    });
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'reconcile');
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.attributes).toEqual({
      'modelroute.namespace': 'apps',
      'modelroute.route': 'chat',
      'k8s.namespace.name': 'apps',
      'modelroute.reconcile.outcome': 'published',
      'modelroute.generation': 4,
      'modelroute.table.version': 'abc',
      'modelroute.table.written': true,
    });
    expect(provenance).toEqual({
      publishedAt: '2026-11-28T16:00:00.000Z',
      generation: 4,
      reconcileTraceId: span?.spanContext().traceId,
      reconcileSpanId: span?.spanContext().spanId,
    });
  });

  it('records a failed reconcile and rethrows its error unchanged', async () => {
    const boom = Object.assign(new Error('redis down'), { code: 'ECONNREFUSED' });
    await expect(traceReconcile('apps/chat', () => Promise.reject(boom))).rejects.toBe(boom);
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes['modelroute.reconcile.outcome']).toBe('error');
    expect(span?.status.code).toBe(2);
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('says requeue or success when the reconcile noted nothing', async () => {
    await traceReconcile('apps/a', async () => ({ requeueAfterMs: 10 }));
    await traceReconcile('apps/b', async () => undefined);
    expect(exporter.getFinishedSpans().map((s) => s.attributes['modelroute.reconcile.outcome'])).toEqual([
      'requeue',
      'success',
    ]);
  });

  it('does nothing without a tracer: provenance keeps only generation and time', async () => {
    setTracingEnabled(false);
    let provenance;
    await traceReconcile('apps/chat', async () => {
      provenance = tableProvenance(1, new Date(0));
    });
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(provenance).toEqual({ publishedAt: '1970-01-01T00:00:00.000Z', generation: 1 });
  });
});

describe('rateLimitedErrorHandler', () => {
  it('logs the first error, then one line per interval with the count it held back', () => {
    const lines: string[] = [];
    let now = 0;
    const handle = rateLimitedErrorHandler(
      (l) => lines.push(l),
      1_000,
      () => now,
    );
    handle(new Error('connect ECONNREFUSED 127.0.0.1:4318'));
    handle(new Error('again'));
    handle('a string');
    now = 1_500;
    handle({ weird: true });
    expect(lines).toEqual([
      'telemetry error (requests are not affected): connect ECONNREFUSED 127.0.0.1:4318',
      'telemetry error (requests are not affected): {"weird":true} (2 more since the last report)',
    ]);
  });

  it('never throws, even when logging does', () => {
    const handle = rateLimitedErrorHandler(() => {
      throw new Error('stderr closed');
    }, 0);
    expect(() => handle(new Error('x'))).not.toThrow();
  });
});
