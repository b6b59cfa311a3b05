/**
 * The sidecar's Prometheus metrics, in a registry of its own so several sidecars can live in one process
 * (tests) without clashing. Label values are route and backend names from tables, never client input. What
 * every request touches is a hot metric (telemetry/hot-metrics.ts); the rest is prom-client's.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, HotHistogram } from '../telemetry/hot-metrics.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new HotCounter({
      name: 'modelroute_sidecar_requests_total',
      help: 'Requests answered, by route, backend that answered (or "-") and HTTP status.',
      labelNames: ['route', 'backend', 'status'] as const,
      registers,
    }),
    upstreamLatency: new HotHistogram({
      name: 'modelroute_sidecar_upstream_latency_seconds',
      help: 'Time from sending a request upstream to its response headers.',
      labelNames: ['route', 'backend'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    overhead: new HotHistogram({
      name: 'modelroute_sidecar_overhead_seconds',
      help: 'Time the sidecar itself added before the upstream answer reached the client (parse, decide, forward).',
      buckets: OVERHEAD_BUCKETS,
      registers,
    }),
    fallbacks: new HotCounter({
      name: 'modelroute_sidecar_fallbacks_total',
      help: 'Attempts abandoned for the next backend, by route, backend left and reason.',
      labelNames: ['route', 'backend', 'reason'] as const,
      registers,
    }),
    circuitState: new Gauge({
      name: 'modelroute_sidecar_circuit_state',
      help: 'Circuit per backend: 0 closed, 1 open, 2 half-open.',
      labelNames: ['backend'] as const,
      registers,
    }),
    tokens: new HotCounter({
      name: 'modelroute_sidecar_tokens_total',
      help: 'Tokens by route, backend and direction (input/output).',
      labelNames: ['route', 'backend', 'direction'] as const,
      registers,
    }),
    cost: new HotCounter({
      name: 'modelroute_sidecar_cost_usd_total',
      help: 'Cost in USD (tokens x backend price) by route and backend.',
      labelNames: ['route', 'backend'] as const,
      registers,
    }),
    tablesLoaded: new Gauge({ name: 'modelroute_sidecar_tables', help: 'Routing tables in use.', registers }),
    tablesRejected: new Counter({
      name: 'modelroute_sidecar_tables_rejected_total',
      help: 'Tables read from Redis that failed validation; the previous one was kept.',
      labelNames: ['route'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: 'modelroute_sidecar_requests_in_flight',
      help: 'Requests (streams included) in flight, the count --max-streams and --max-streams-per-client cap.',
      registers,
    }),
    usagePending: new Gauge({
      name: 'modelroute_sidecar_usage_pending_counters',
      help: 'Usage counters not yet flushed to Redis.',
      registers,
    }),
    usageFlushFailures: new Counter({
      name: 'modelroute_sidecar_usage_flush_failures_total',
      help: 'Failed usage flushes (retried).',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
