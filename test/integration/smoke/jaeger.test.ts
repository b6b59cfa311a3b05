import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resources, tracing } from '@opentelemetry/sdk-node';
import { sharedJaeger, waitFor, type Jaeger } from '../../helpers/control-plane.js';

interface JaegerTrace {
  traceID: string;
  spans: Array<{ operationName: string; tags: Array<{ key: string; value: unknown }> }>;
}

describe('jaeger: OTLP/HTTP in, query API out', () => {
  let jaeger: Jaeger;
  let provider: tracing.BasicTracerProvider;
  const service = `smoke-jaeger-${process.pid}`;

  beforeAll(async () => {
    jaeger = await sharedJaeger();
    provider = new tracing.BasicTracerProvider({
      resource: resources.resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [
        new tracing.SimpleSpanProcessor(new OTLPTraceExporter({ url: `${jaeger.otlpHttpEndpoint}/v1/traces` })),
      ],
    });
  });
  afterAll(async () => {
    await provider?.shutdown();
  });

  it('stores an exported span and finds it by service', async () => {
    const span = provider.getTracer('smoke').startSpan('smoke-operation', { attributes: { 'smoke.answer': 42 } });
    const traceId = span.spanContext().traceId;
    span.end();
    await provider.forceFlush();

    const traces = await waitFor(
      async () => {
        const found = (await jaeger.findTraces(service)) as JaegerTrace[];
        return found.length > 0 && found;
      },
      { timeoutMs: 15_000, intervalMs: 100, message: `a trace of ${service} in jaeger` },
    );

    expect(traces).toHaveLength(1);
    expect(traces[0]?.traceID).toBe(traceId);
    expect(traces[0]?.spans[0]?.operationName).toBe('smoke-operation');
    expect(traces[0]?.spans[0]?.tags).toContainEqual({ key: 'smoke.answer', type: 'int64', value: 42 });
  });

  it('finds nothing for a service that never reported', async () => {
    await expect(jaeger.findTraces(`${service}-silent`)).resolves.toEqual([]);
  });
});
