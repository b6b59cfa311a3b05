/**
 * The sidecar's telemetry helpers against a real HTTP server and an in-memory span exporter: the span tree and its
 * attributes, traceparent in and out, events, metrics, no content by default, and no span work without a tracer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { compile } from '../../../core/api/compile.js';
import { decide } from '../../../core/decide.js';
import type { Decision, RequestFacts, RoutingTable } from '../../../core/api/types.js';
import { traceFields } from '../../../telemetry/log-context.js';
import { SidecarTelemetry, type RequestInfo } from '../../../telemetry/sidecar-telemetry.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(async () => {
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

const table: RoutingTable = {
  ...compile({
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name: 'chat', namespace: 'apps' },
    spec: {
      match: { models: ['auto'] },
      backends: [
        {
          name: 'fast',
          provider: 'openai',
          baseURL: 'https://fast.example:8443/v1',
          model: 'fast-1',
          credentialsSecretRef: { name: 'keys', key: 'fast' },
          pricing: { inputPerMillion: 1, outputPerMillion: 2 },
        },
        {
          name: 'smart',
          provider: 'azure-openai',
          baseURL: 'https://smart.example',
          model: 'smart-1',
          apiVersion: 'v',
          credentialsSecretRef: { name: 'keys', key: 'smart' },
        },
      ],
      strategy: { complexity: { tiers: [{ backend: 'fast', upTo: 0.5 }, { backend: 'smart' }] } },
      fallbacks: [{ backend: 'fast', to: ['smart'] }],
    },
  }),
  provenance: {
    reconcileTraceId: '0af7651916cd43dd8448eb211c80319c',
    reconcileSpanId: 'b7ad6b7169203331',
    generation: 2,
    publishedAt: new Date(Date.now() - 5_000).toISOString(),
  },
};
const messages = [{ role: 'user', content: 'a secret prompt' }];
const facts: RequestFacts = {
  endpoint: 'chat',
  model: 'auto',
  header: () => undefined,
  messages,
  inputTokens: 10,
  wantsTools: false,
};
const info: RequestInfo = { endpoint: 'chat', stream: false, messages };
const decision = (): Decision =>
  decide(table, facts, {
    score: () => ({
      score: 0.2,
      top: [
        { feature: 'tokens', weight: -0.5 },
        { feature: '"secret plan"', weight: 0.25 },
      ],
    }),
    random: () => 0,
  });

/** A real server whose handler does what the sidecar's does, through the telemetry helpers. */
async function serve(
  t: SidecarTelemetry,
  work: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => void t.request(req, res, () => work(req, res)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('SidecarTelemetry with a tracer', () => {
  it('builds server -> decision + client spans under the caller traceparent, and injects the client context', async () => {
    const registry = new Registry();
    const t = new SidecarTelemetry({ registry, namespace: 'apps', tracing: true, traceContent: false });
    t.tablesChanged([table]);
    let sentHeaders: Record<string, string> = {};
    let logIds = {};
    const srv = await serve(t, async (req, res) => {
      const d = decision();
      t.decided(req, d, info, performance.now());
      logIds = traceFields();
      const first = t.attempt(d, d.attempts[0]!);
      first.end({ kind: 'connect-error', error: new Error('refused') });
      t.fallback(d, d.attempts[0]!, 'connect-error');
      const second = t.attempt(d, d.attempts[1]!);
      sentHeaders = { ...second.headers };
      second.responded(200);
      const json = {
        id: 'c1',
        model: 'smart-1-0613',
        choices: [{ finish_reason: 'stop', message: { content: 'answer' } }],
      };
      second.body(json);
      res.end(JSON.stringify(json));
      // As the forwarder does it: the attempt ends with the answer, its usage is settled just after.
      second.end();
      t.usage(d, d.attempts[1]!, { input: 100, output: 50, source: 'upstream' });
    });
    const res = await fetch(srv.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    await res.text();
    await srv.close();

    const spans = exporter.getFinishedSpans();
    const [server] = byName(spans, 'POST /v1/chat/completions');
    expect(server?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(server?.attributes).toMatchObject({
      'http.response.status_code': 200,
      'modelroute.route': 'chat',
      'modelroute.tier': 0,
      'modelroute.table.version': table.tableVersion,
      'modelroute.table.reconcile_trace_id': '0af7651916cd43dd8448eb211c80319c',
    });
    expect(logIds).toEqual({ trace_id: server?.spanContext().traceId, span_id: server?.spanContext().spanId });

    const [dec] = byName(spans, 'decision');
    expect(dec?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(dec?.attributes).toMatchObject({
      'modelroute.strategy': 'complexity',
      'modelroute.score': 0.2,
      'modelroute.top_features': ['tokens=-0.500'],
      'modelroute.attempts': ['fast', 'smart'],
      'modelroute.table.generation': 2,
    });
    expect(dec?.links.map((l) => l.context.spanId)).toEqual(['b7ad6b7169203331']);

    const [failed] = byName(spans, 'chat fast-1');
    expect(failed?.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'server.address': 'fast.example',
      'server.port': 8443,
      'error.type': 'connect-error',
      'modelroute.attempt': 0,
    });
    const [ok] = byName(spans, 'chat smart-1');
    expect(ok?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(ok?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'azure.ai.openai',
      'gen_ai.system': 'azure.ai.openai',
      'gen_ai.request.model': 'smart-1',
      'gen_ai.response.model': 'smart-1-0613',
      'gen_ai.response.id': 'c1',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 50,
      'modelroute.attempt': 1,
    });
    expect(ok?.attributes['error.type']).toBeUndefined();
    expect(sentHeaders.traceparent).toBe(`00-${ok?.spanContext().traceId}-${ok?.spanContext().spanId}-01`);
    expect(server?.events.map((e) => [e.name, e.attributes])).toEqual([
      ['modelroute.fallback', { 'modelroute.backend': 'fast', 'modelroute.failure': 'connect-error' }],
    ]);
    const everything = JSON.stringify(spans.map((s) => s.attributes));
    expect(everything).not.toContain('secret prompt');
    expect(everything).not.toContain('answer');

    const text = await registry.metrics();
    expect(text).toMatch(
      /modelroute_sidecar_decisions_total\{namespace="apps",route="chat",strategy="complexity",tier="0"\} 1/,
    );
    expect(text).toMatch(/gen_ai_client_token_usage_sum\{[^}]*backend="smart",gen_ai_token_type="input"\} 100/);
    expect(text).toMatch(
      /gen_ai_client_operation_duration_seconds_count\{[^}]*backend="fast",error_type="connect-error"\} 1/,
    );
    expect(text).toMatch(/gen_ai_client_operation_time_to_first_chunk_seconds_count\{[^}]*backend="smart"\} 1/);
    expect(text).toMatch(/modelroute_sidecar_table_propagation_seconds_count\{namespace="apps"\} 1/);
    const age = /modelroute_sidecar_table_age_seconds\{namespace="apps",route="chat"\} ([0-9.]+)/.exec(text);
    expect(Number(age?.[1])).toBeGreaterThanOrEqual(5);
  });

  it('records prompt and completion text only when asked to', async () => {
    const t = new SidecarTelemetry({ registry: new Registry(), namespace: 'apps', tracing: true, traceContent: true });
    const srv = await serve(t, async (req, res) => {
      const d = decision();
      t.decided(req, d, info);
      const a = t.attempt(d, d.attempts[0]!);
      a.responded(200);
      a.body({ choices: [{ finish_reason: 'stop', message: { role: 'assistant', content: 'an answer' } }] });
      a.end();
      t.usage(d, d.attempts[0]!, { input: 1, output: 2 });
      res.end('{}');
    });
    await (await fetch(srv.url + '/v1/chat/completions', { method: 'POST' })).text();
    await srv.close();
    const [client] = byName(exporter.getFinishedSpans(), 'chat fast-1');
    expect(String(client?.attributes['gen_ai.input.messages'])).toContain('a secret prompt');
    expect(String(client?.attributes['gen_ai.output.messages'])).toContain('an answer');
    const [decisionSpan] = byName(exporter.getFinishedSpans(), 'decision');
    expect(decisionSpan?.attributes['modelroute.top_features']).toEqual(['tokens=-0.500', '"secret plan"=0.250']);
  });
});

describe('explaining(): top features only for recorded requests', () => {
  async function explainingIn(t: SidecarTelemetry, headers: Record<string, string> = {}): Promise<boolean> {
    let seen: boolean | undefined;
    const srv = await serve(t, async (_req, res) => {
      seen = t.explaining();
      res.end('{}');
    });
    await (await fetch(srv.url + '/v1/chat/completions', { method: 'POST', headers })).text();
    await srv.close();
    return seen!;
  }

  it('is true inside a traced request, false outside one, for a caller that did not sample, and without a tracer', async () => {
    const traced = new SidecarTelemetry({ registry: new Registry(), namespace: 'apps', tracing: true });
    expect(await explainingIn(traced)).toBe(true);
    expect(traced.explaining()).toBe(false);
    const notSampled = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    expect(await explainingIn(traced, { traceparent: notSampled })).toBe(false);
    const off = new SidecarTelemetry({ registry: new Registry(), namespace: 'apps', tracing: false });
    expect(await explainingIn(off)).toBe(false);
  });
});

describe('SidecarTelemetry without a tracer', () => {
  it('creates no span and injects nothing, but still counts', async () => {
    const registry = new Registry();
    const t = new SidecarTelemetry({ registry, namespace: 'apps', tracing: false });
    let headers: Readonly<Record<string, string>> = { x: 'y' };
    const srv = await serve(t, async (req, res) => {
      const d = decision();
      t.decided(req, d, info);
      const a = t.attempt(d, d.attempts[0]!);
      headers = a.headers;
      a.responded(200);
      a.end();
      t.usage(d, d.attempts[0]!, { input: 3, output: 4 });
      res.end('{}');
    });
    await (await fetch(srv.url + '/v1/chat/completions', { method: 'POST' })).text();
    await srv.close();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(headers).toEqual({});
    const text = await registry.metrics();
    expect(text).toMatch(/modelroute_sidecar_decisions_total\{[^}]*tier="0"\} 1/);
    expect(text).toMatch(/gen_ai_client_token_usage_sum\{[^}]*gen_ai_token_type="output"\} 4/);
  });

  it('never throws into the caller, even fed garbage', () => {
    const logged: string[] = [];
    const t = new SidecarTelemetry({
      registry: new Registry(),
      namespace: 'apps',
      tracing: true,
      log: (m) => logged.push(m),
    });
    const d = decision();
    const broken = { ...d, table: undefined } as unknown as Decision;
    expect(() => t.decided({} as IncomingMessage, broken, info)).not.toThrow();
    expect(() => t.usage(broken, d.attempts[0]!, { input: 1, output: 1 })).not.toThrow();
    expect(() => t.tablesChanged([null as unknown as RoutingTable])).not.toThrow();
    const a = t.attempt(d, d.attempts[0]!);
    expect(() => {
      a.body(undefined);
      a.end();
      a.end();
    }).not.toThrow();
    expect(logged).toHaveLength(1);
  });
});
