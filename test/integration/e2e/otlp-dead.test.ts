/**
 * A dead OTLP endpoint changes nothing for requests. The same sidecar program serves the same traffic three times:
 * with telemetry disabled (the baseline), exporting to a collector that accepts connections and never answers, and
 * exporting to a port where nothing listens. Every request must succeed, latency must stay within a generous bound
 * of the baseline, export failures must be reported in one log line rather than one per batch, and stopping the
 * sidecar must not wait on the dead collector.
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

interface Run {
  latenciesMs: number[];
  failures: string[];
  logs: string[];
  stopMs: number;
}

/** Starts a sidecar with `env`, sends the traffic, stops it; what the clients saw and how long stopping took. */
async function run(env: Record<string, string>, afterTraffic?: (logs: string[]) => Promise<void>): Promise<Run> {
  const sidecar = await startSidecarProcess({ redisURL, namespace: ns, env });
  try {
    const { baseURL, admin } = sidecar.ready;
    await waitFor(async () => (await fetch(`${admin}/readyz`)).ok, { timeoutMs: 15_000, message: 'sidecar ready' });
    const openai = new OpenAI({ apiKey: 'k', baseURL, maxRetries: 0, timeout: 10_000 });
    const failures: string[] = [];
    const call = async (i: number) => {
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
    };
    for (let i = 0; i < 5; i++) await call(i); // warm-up: connections, JIT
    const latenciesMs: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) latenciesMs.push(await call(i));
    await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => call(1000 + i)));
    await afterTraffic?.(sidecar.logs);
    const t0 = performance.now();
    await sidecar.stop(15_000);
    return { latenciesMs, failures, logs: sidecar.logs, stopMs: performance.now() - t0 };
  } finally {
    await sidecar.stop(0);
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const telemetryErrors = (logs: string[]) => logs.filter((l) => l.includes('telemetry error'));

describe('a dead OTLP endpoint', () => {
  it('changes nothing for requests', async () => {
    const baseline = await run({ OTEL_SDK_DISABLED: 'true' });
    const hanging = await run({
      OTEL_EXPORTER_OTLP_ENDPOINT: blackhole.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    const refused = await run(
      { OTEL_EXPORTER_OTLP_ENDPOINT: (await refusedURL()).replace(/\/v1$/, ''), OTEL_BSP_SCHEDULE_DELAY: '50' },
      // The failure is reported, once, while the sidecar keeps serving.
      async (logs) => {
        await waitFor(() => telemetryErrors(logs).length > 0, { timeoutMs: 20_000, message: 'telemetry error log' });
      },
    );

    const summary = (r: Run) => ({
      p50: Math.round(quantile(r.latenciesMs, 0.5) * 10) / 10,
      p90: Math.round(quantile(r.latenciesMs, 0.9) * 10) / 10,
      stopMs: Math.round(r.stopMs),
    });
    console.log(
      `[otlp-dead] latency ms: baseline ${JSON.stringify(summary(baseline))}, ` +
        `hanging collector ${JSON.stringify(summary(hanging))}, refused ${JSON.stringify(summary(refused))}`,
    );

    // Tracing really was on and really was exporting to the dead collector.
    expect(blackhole.connections()).toBeGreaterThan(0);
    expect(telemetryErrors(baseline.logs)).toEqual([]);
    expect(telemetryErrors(refused.logs)).toHaveLength(1);

    for (const r of [baseline, hanging, refused]) {
      expect(r.failures).toEqual([]);
      expect(r.latenciesMs).toHaveLength(SEQUENTIAL);
    }
    const p50 = quantile(baseline.latenciesMs, 0.5);
    const p90 = quantile(baseline.latenciesMs, 0.9);
    for (const r of [hanging, refused]) {
      // Generous: a shared 2-core machine is noisy; a blocking exporter would cost seconds, not milliseconds.
      expect(quantile(r.latenciesMs, 0.5)).toBeLessThan(p50 * 3 + 25);
      expect(quantile(r.latenciesMs, 0.9)).toBeLessThan(p90 * 3 + 50);
      // Shutdown gives the last export a bounded time, even when the collector never answers.
      expect(r.stopMs).toBeLessThan(10_000);
    }
  }, 240_000);
});
