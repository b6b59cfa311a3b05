/**
 * A dead OTLP endpoint changes nothing for requests. Three sidecar processes serve the same traffic side by side
 * (requests alternate between them, so all three see the same load on a shared machine): one with telemetry
 * disabled (the baseline), one exporting to a collector that accepts connections and never answers, one exporting
 * to a port where nothing listens. Every request must succeed, latency must stay within a generous bound of the
 * baseline, export failures must be reported in one log line rather than one per batch, and stopping a sidecar must
 * not wait on the dead collector.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { compile } from '../../../core/api/compile.js';
import { sharedRedis } from '../../helpers/control-plane.js';
import { refusedURL, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { waitFor } from '../../helpers/wait.js';
import { uniqueNs } from '../operator/fixtures.js';
import { publish, redisClient } from '../sidecar/support.js';
import { startSidecarProcess } from './cli-process.js';

const SEQUENTIAL = 60;
const CONCURRENT = 20;

let redisURL: string;
let ns: string;
let up: FakeUpstream;
let blackhole: { url: string; connections: () => number; close(): Promise<void> };

/** A "collector" that accepts TCP connections and never reads or answers: the worst kind of dead. */
async function startBlackhole() {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.pause();
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

beforeAll(async () => {
  redisURL = (await sharedRedis()).url;
  ns = uniqueNs('e2e-otlp-dead');
  up = await startFakeUpstream({ name: 'upstream' });
  blackhole = await startBlackhole();
  const table = compile({
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name: 'chat', namespace: ns, generation: 1 },
    spec: {
      match: { models: ['auto'] },
      backends: [{ name: 'main', provider: 'openai-compatible', baseURL: up.baseURL, model: 'm-1' }],
      strategy: { fixed: { backend: 'main' } },
    },
  });
  const redis = redisClient(redisURL);
  await publish(redis, table);
  redis.disconnect();
}, 60_000);

afterAll(async () => {
  await up?.close();
  await blackhole?.close();
});

type Sidecar = Awaited<ReturnType<typeof startSidecarProcess>>;

interface Client {
  sidecar: Sidecar;
  latenciesMs: number[];
  failures: string[];
  call(i: number): Promise<number>;
}

async function client(env: Record<string, string>): Promise<Client> {
  const sidecar = await startSidecarProcess({ redisURL, namespace: ns, env });
  const { baseURL, admin } = sidecar.ready;
  await waitFor(async () => (await fetch(`${admin}/readyz`)).ok, { timeoutMs: 15_000, message: 'sidecar ready' });
  const openai = new OpenAI({ apiKey: 'k', baseURL, maxRetries: 0, timeout: 10_000 });
  const failures: string[] = [];
  return {
    sidecar,
    latenciesMs: [],
    failures,
    async call(i) {
      const t0 = performance.now();
      try {
        const r = await openai.chat.completions.create(
          { model: 'auto', messages: [{ role: 'user', content: `question ${i}` }] },
          { headers: { traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` } },
        );
        if (r.choices[0]?.message.content !== 'reply from upstream to m-1') failures.push(`${i}: wrong answer`);
      } catch (err) {
        failures.push(`${i}: ${(err as Error).message}`);
      }
      return performance.now() - t0;
    },
  };
}

/** Milliseconds from SIGTERM to exit. */
async function stopMs(s: Sidecar): Promise<number> {
  const t0 = performance.now();
  await s.stop(15_000);
  return performance.now() - t0;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const telemetryErrors = (logs: string[]) => logs.filter((l) => l.includes('telemetry error'));

describe('a dead OTLP endpoint', () => {
  let clients: Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.sidecar.stop(0)));
  });

  it('changes nothing for requests', async () => {
    // Three sidecars side by side, so each sees the same (noisy, shared) machine: requests alternate between them.
    const refused = (await refusedURL()).replace(/\/v1$/, '');
    clients = await Promise.all([
      client({ OTEL_SDK_DISABLED: 'true' }),
      client({ OTEL_EXPORTER_OTLP_ENDPOINT: blackhole.url }),
      client({ OTEL_EXPORTER_OTLP_ENDPOINT: refused }),
    ]);
    const [baseline, hanging, refusing] = clients as [Client, Client, Client];
    for (let i = 0; i < 5; i++) for (const c of clients) await c.call(i); // warm-up: connections, JIT
    for (let i = 0; i < SEQUENTIAL; i++) for (const c of clients) c.latenciesMs.push(await c.call(i));
    await Promise.all(clients.flatMap((c) => Array.from({ length: CONCURRENT }, (_, i) => c.call(1000 + i))));

    // Tracing really was on and exporting to the dead collectors; the failures are reported, in one line.
    await waitFor(() => blackhole.connections() > 0, { message: 'an export attempt to the hanging collector' });
    await waitFor(() => telemetryErrors(refusing.sidecar.logs).length > 0, {
      timeoutMs: 30_000,
      message: 'telemetry error log line of the sidecar exporting to a refused port',
    });
    const stops = await Promise.all(clients.map((c) => stopMs(c.sidecar)));

    const summary = (c: Client, i: number) =>
      JSON.stringify({
        p50: Math.round(quantile(c.latenciesMs, 0.5) * 10) / 10,
        p90: Math.round(quantile(c.latenciesMs, 0.9) * 10) / 10,
        stopMs: Math.round(stops[i]!),
      });
    console.log(
      `[otlp-dead] latency ms: no telemetry ${summary(baseline, 0)}, hanging collector ${summary(hanging, 1)}, ` +
        `refused ${summary(refusing, 2)}`,
    );

    expect(telemetryErrors(baseline.sidecar.logs)).toEqual([]);
    expect(telemetryErrors(refusing.sidecar.logs)).toHaveLength(1);
    for (const c of clients) {
      expect(c.failures).toEqual([]);
      expect(c.latenciesMs).toHaveLength(SEQUENTIAL);
    }
    const p50 = quantile(baseline.latenciesMs, 0.5);
    const p90 = quantile(baseline.latenciesMs, 0.9);
    for (const [i, c] of [hanging, refusing].entries()) {
      // Generous: a shared 2-core machine is noisy; an exporter in the request path would cost seconds, not ms.
      expect(quantile(c.latenciesMs, 0.5)).toBeLessThan(p50 * 2 + 20);
      expect(quantile(c.latenciesMs, 0.9)).toBeLessThan(p90 * 3 + 50);
      // Shutdown gives the last export a bounded time, then leaves, even when the collector never answers.
      expect(stops[i + 1]).toBeLessThan(6_000);
    }
  }, 240_000);
});
