/**
 * startTelemetry() as the CLIs call it, configured by OTEL_* variables only: off when disabled, on and exporting
 * OTLP/HTTP protobuf (with the role's default service name) to a real HTTP server otherwise.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import { startTelemetry, tracingEnabled } from '../../../telemetry/otel.js';

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('startTelemetry', () => {
  // Cases that install no tracer come first: a global tracer provider can be registered once per test file.
  it.each([
    ['no OTLP endpoint or exporter configured', {}],
    ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }],
    ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none' }],
  ])('%s: no tracing, and nothing to flush', async (_name, env) => {
    Object.assign(process.env, env);
    const t = await startTelemetry({ serviceName: 'modelroute-unit', log: () => undefined });
    expect(t.tracing).toBe(false);
    expect(tracingEnabled()).toBe(false);
    await expect(t.shutdown()).resolves.toBe(true);
  });

  it('exports spans over OTLP/HTTP with the default service name, and flushes them on shutdown', async () => {
    const posts: { req: IncomingMessage; body: Buffer }[] = [];
    const collector = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        posts.push({ req, body: Buffer.concat(parts) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=unit';
    const t = await startTelemetry({ serviceName: 'modelroute-unit', log: () => undefined });
    expect(t.tracing).toBe(true);
    trace.getTracer('test').startSpan('one-span').end();
    await expect(t.shutdown()).resolves.toBe(true);
    await new Promise<void>((r) => collector.close(() => r()));

    expect(posts.map((p) => [p.req.method, p.req.url, p.req.headers['content-type']])).toEqual([
      ['POST', '/v1/traces', 'application/x-protobuf'],
    ]);
    const body = posts[0]!.body.toString('latin1');
    for (const s of ['one-span', 'modelroute-unit', 'deployment.environment.name', 'unit']) expect(body).toContain(s);
    expect(body).not.toContain('modelroute.telemetry.probe');
    expect(tracingEnabled()).toBe(false);
  });
});
