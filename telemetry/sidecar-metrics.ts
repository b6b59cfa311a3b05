/**
 * The sidecar's GenAI and routing metrics, added to the sidecar's prom-client registry (next to the request,
 * latency, fallback, circuit and cost metrics of sidecar/metrics.ts). GenAI names follow the OpenTelemetry
 * conventions as an OTel Prometheus exporter would write them: dots become underscores and the unit is a suffix
 * (gen_ai.client.operation.duration -> gen_ai_client_operation_duration_seconds; tokens have no unit suffix).
 */
import { Gauge, type Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

/** Bucket boundaries recommended by the GenAI semantic conventions. */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
export const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const FIRST_CHUNK_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const GENAI_LABELS = [
  'gen_ai_operation_name',
  'gen_ai_provider_name',
  'gen_ai_request_model',
  'namespace',
  'route',
  'backend',
] as const;

export interface GenAiMetricsOptions {
  /** Read at each scrape: seconds since each route's table in use was published. */
  tableAges?: () => Iterable<{ namespace: string; route: string; seconds: number }>;
}

export function createGenAiMetrics(registry: Registry, opts: GenAiMetricsOptions = {}) {
  const registers = [registry];
  return {
    tokenUsage: new HotHistogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens per upstream call (gen_ai.client.token.usage), by token type (input/output).',
      labelNames: [...GENAI_LABELS, 'gen_ai_token_type'] as const,
      buckets: TOKEN_BUCKETS,
      registers,
    }),
    operationDuration: new HotHistogram({
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Duration of each upstream call attempt, to the end of its answer (gen_ai.client.operation.duration).',
      labelNames: [...GENAI_LABELS, 'error_type'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    timeToFirstChunk: new HotHistogram({
      name: 'gen_ai_client_operation_time_to_first_chunk_seconds',
      help:
        'Time from the request reaching the sidecar to the first answer content sent to the app ' +
        '(streams: the first event; otherwise the whole body) (gen_ai.client.operation.time_to_first_chunk).',
      labelNames: GENAI_LABELS,
      buckets: FIRST_CHUNK_BUCKETS,
      registers,
    }),
    decisions: new HotCounter({
      name: 'modelroute_sidecar_decisions_total',
      help: 'Routing decisions by route, strategy and tier ("-" for strategies without tiers).',
      labelNames: ['namespace', 'route', 'strategy', 'tier'] as const,
      registers,
    }),
    tableAge: new Gauge({
      name: 'modelroute_sidecar_table_age_seconds',
      help: 'Seconds since the operator published the routing table in use, per route (needs table provenance).',
      labelNames: ['namespace', 'route'] as const,
      registers,
      collect() {
        this.reset();
        for (const a of opts.tableAges?.() ?? []) this.labels(a.namespace, a.route).set(a.seconds);
      },
    }),
    tablePropagation: new HotHistogram({
      name: 'modelroute_sidecar_table_propagation_seconds',
      help: 'From the operator publishing a table version to this sidecar routing by it (clocks of two pods).',
      // Per namespace, not per route: the lag is the pipeline's, and a route label would make 1,000 routes
      // 14,000 series in every pod (and about 1 MB of each sidecar's memory).
      labelNames: ['namespace'] as const,
      buckets: LAG_BUCKETS,
      registers,
    }),
  };
}

export type GenAiMetrics = ReturnType<typeof createGenAiMetrics>;
