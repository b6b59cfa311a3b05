import { createConnection } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { binPath } from './bin.js';
import { freePort } from './ports.js';
import { makeTempDir, removeDir, retryOnPortClash, spawnManaged, startFailure } from './processes.js';
import { waitFor } from './wait.js';

/** A real Jaeger v2 (OTel-collector based) with in-memory storage, on loopback. */
export interface Jaeger {
  /** http://127.0.0.1:PORT: the OTLP/HTTP receiver (exporters append /v1/traces). */
  otlpHttpEndpoint: string;
  /** http://127.0.0.1:PORT: base of the query HTTP API (/api/services, /api/traces). */
  queryUrl: string;
  /** GET /api/traces?service=...: the stored traces of a service (Jaeger's JSON trace objects). */
  findTraces(service: string, opts?: FindTracesOptions): Promise<unknown[]>;
  stop(): Promise<void>;
}

export interface FindTracesOptions {
  operation?: string;
  /** Span tags that must match, e.g. { 'gen_ai.request.model': 'gpt-4o-mini' }. */
  tags?: Record<string, string>;
  /** Jaeger duration, e.g. '1h' (default). */
  lookback?: string;
  limit?: number;
}

/** What a process needs to reattach to a running Jaeger (see shared.ts). */
export interface JaegerHandle {
  otlpHttpEndpoint: string;
  queryUrl: string;
}

/** Starts `jaeger --config <generated yaml>` and resolves once both the receiver and the query API answer. */
export function startJaeger(): Promise<Jaeger> {
  return retryOnPortClash(launchJaeger);
}

async function launchJaeger(): Promise<Jaeger> {
  const dir = makeTempDir('jaeger');
  const [otlpHttp, otlpGrpc, queryHttp, queryGrpc] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, configYaml({ otlpHttp, otlpGrpc, queryHttp, queryGrpc }));
  const proc = spawnManaged({
    name: `jaeger :${queryHttp}`,
    command: binPath('jaeger'),
    args: ['--config', configPath],
    logPath: join(dir, 'jaeger.log'),
  });
  const handle: JaegerHandle = {
    otlpHttpEndpoint: `http://127.0.0.1:${otlpHttp}`,
    queryUrl: `http://127.0.0.1:${queryHttp}`,
  };
  try {
    await waitFor(async () => (await fetch(`${handle.queryUrl}/api/services`)).ok && (await tcpReachable(otlpHttp)), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: 'jaeger query API and OTLP receiver',
      signal: proc.exitSignal,
    });
  } catch (err) {
    try {
      await startFailure(proc, err); // reads the log's tail: remove the dir only after
    } finally {
      removeDir(dir);
    }
  }
  return {
    ...attachJaeger(handle),
    async stop() {
      await proc.stop();
      removeDir(dir);
    },
  };
}

/** A Jaeger that someone else runs (the shared one): query only, `stop()` left to the owner. */
export function attachJaeger(handle: JaegerHandle): Omit<Jaeger, 'stop'> {
  return {
    ...handle,
    async findTraces(service, opts = {}) {
      const params = new URLSearchParams({
        service,
        lookback: opts.lookback ?? '1h',
        limit: String(opts.limit ?? 100),
      });
      if (opts.operation) params.set('operation', opts.operation);
      if (opts.tags) params.set('tags', JSON.stringify(opts.tags));
      const res = await fetch(`${handle.queryUrl}/api/traces?${params}`);
      // Jaeger answers 404 for a service it has not seen yet: no traces so far.
      if (res.status === 404) return [];
      if (!res.ok) throw new Error(`jaeger /api/traces answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { data?: unknown[] | null }).data ?? [];
    },
  };
}

function tcpReachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function configYaml(ports: { otlpHttp: number; otlpGrpc: number; queryHttp: number; queryGrpc: number }): string {
  const at = (port: number): { endpoint: string } => ({ endpoint: `127.0.0.1:${port}` });
  return stringify({
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
      },
      // No internal metrics endpoint: its default port (8888) would clash between instances.
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        http: at(ports.queryHttp),
        grpc: at(ports.queryGrpc),
        // Jaeger would trace itself to localhost:4317: feeding whichever collector owns that port, and
        // spending 10 s at shutdown flushing to nowhere.
        enable_tracing: false,
      },
    },
    receivers: { otlp: { protocols: { http: at(ports.otlpHttp), grpc: at(ports.otlpGrpc) } } },
    processors: { batch: { timeout: '100ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  });
}
