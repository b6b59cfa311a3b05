/**
 * Makes the fake upstream model servers of this process behave like instrumented ones: each request they receive
 * gets its own SERVER span, continuing the W3C traceparent the request carried, exported over OTLP to Jaeger under
 * the backend's own service name. It listens on Node's built-in HTTP diagnostics channels (what modern HTTP
 * instrumentations use), so the fake servers themselves are untouched and nothing is patched.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export interface TracedBackends {
  /** Exports every ended span now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface RequestStart {
  request: IncomingMessage;
  response: ServerResponse;
  server: Server;
}

/** `ports` maps a fake upstream's port to the service name its spans are reported under. */
export function traceBackends(otlpHttpEndpoint: string, ports: Map<number, string>): TracedBackends {
  const propagator = new W3CTraceContextPropagator();
  const providers = new Map<string, TracerProvider>();
  const providerFor = (service: string): TracerProvider => {
    let p = providers.get(service);
    if (!p) {
      p = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [
          new BatchSpanProcessor({
            exporter: new OTLPTraceExporter({ url: `${otlpHttpEndpoint}/v1/traces` }),
            scheduledDelayMillis: 100,
          }),
        ],
      });
      providers.set(service, p);
    }
    return p;
  };
  const onStart = (message: unknown): void => {
    const { request, response, server } = message as RequestStart;
    const port = (server.address() as AddressInfo | null)?.port;
    const service = port === undefined ? undefined : ports.get(port);
    if (!service) return;
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const span = providerFor(service)
      .getTracer('fake-upstream')
      .startSpan(
        `${request.method ?? 'GET'} ${path}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': request.method ?? 'GET', 'url.path': path, 'server.port': port! },
        },
        parent,
      );
    response.once('close', () => {
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  };
  subscribe('http.server.request.start', onStart);
  return {
    async flush() {
      await Promise.all([...providers.values()].map((p) => p.forceFlush()));
    },
    async close() {
      unsubscribe('http.server.request.start', onStart);
      await Promise.all([...providers.values()].map((p) => p.shutdown()));
    },
  };
}
