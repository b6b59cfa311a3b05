/**
 * Assembles a sidecar from its parts and starts it: API server, admin server, table store, usage flusher,
 * budget reader. Tests start it in-process with port 0; cli/commands/sidecar.ts starts it from flags.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { DecideContext, Decision, TableBackend } from '../core/api/types.js';
import { createAdminServer } from './admin-server.js';
import { answerClientError } from './errors.js';
import { createApiHandler } from './api-handler.js';
import { BudgetSpend } from './budget-spend.js';
import { CircuitBreakers, type BreakerOptions } from './circuit-breaker.js';
import { ClientLimits, type ClientLimitOptions } from './client-limits.js';
import { Credentials, type CredentialResolver, type DataKeySource } from './credentials.js';
import type { ForwarderDeps } from './forwarder.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { RequestObserver } from './observer.js';
import { connectRedis, type RedisEndpoint } from './redis-connection.js';
import { RedisTableStore } from './redis-table-store.js';
import { loadScorer } from './scorer.js';
import { ShareThresholds } from './share-thresholds.js';
import type { TableStore, TableStoreHooks } from './table-store.js';
import { UpstreamPools } from './upstream-pools.js';
import { UsageRecorder } from './usage-recorder.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface SidecarOptions {
  /** API address (default 127.0.0.1:15500; port 0 picks a free one). */
  listen?: HostPort;
  /** Admin address (default 127.0.0.1:15501); false for none. */
  admin?: HostPort | false;
  namespace: string;
  /** Tables, usage and budgets from this Redis. Required unless `createStore` is given. */
  redisURL?: string;
  /** PEM of the CA for a rediss:// URL. */
  redisCA?: string;
  /** `redisURL` is a seed node of a Redis Cluster. */
  redisCluster?: boolean;
  /** Another table source (local mode); usage and budgets then stay in memory only. */
  createStore?: (hooks: TableStoreHooks) => TableStore;
  /** Last good tables; usage unflushed at shutdown is kept next to it (`usageFileOf`) and replayed at start. */
  stateFile?: string;
  dataKey?: DataKeySource;
  resolveCredential?: CredentialResolver;
  bodyLimit?: number;
  /** Concurrent requests per client address and in total (default 256 per client, no total cap; 0 = unlimited). */
  limits?: Partial<ClientLimitOptions>;
  breaker?: BreakerOptions;
  /** Index check period (ms). */
  checkIntervalMs?: number;
  /** How long a route missing from the index (no delete event) keeps being served (ms, default 30000). */
  missingGraceMs?: number;
  /** Usage flush period (ms). */
  flushMs?: number;
  score?: DecideContext['score'];
  /** With `score`: quantiles of its expected scores, the targetShare calibrators' starting point. */
  scorePrior?: readonly number[];
  random?: () => number;
  log?: (message: string) => void;
  /** Builds per-request telemetry (telemetry/sidecar-telemetry.ts) on the sidecar's metrics registry. */
  observer?: (registry: Registry) => RequestObserver;
}

export interface Sidecar {
  /** http://host:port of the API. */
  url: string;
  /** `${url}/v1`: what OPENAI_BASE_URL is set to. */
  baseURL: string;
  adminUrl?: string;
  store: TableStore;
  metrics: Metrics;
  usage?: UsageRecorder;
  /**
   * Stops accepting, lets in-flight requests finish (up to drainMs), flushes usage (saving what Redis does not
   * take next to the state file), closes everything.
   */
  close(drainMs?: number): Promise<void>;
}

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_MAX_STREAMS_PER_CLIENT = 256;

export async function startSidecar(o: SidecarOptions): Promise<Sidecar> {
  const log = o.log ?? ((m: string) => console.error(`modelroute-sidecar: ${m}`));
  const metrics = createMetrics({ defaultMetrics: o.admin !== undefined && o.admin !== false });
  const observer = o.observer?.(metrics.registry);
  const credentials = new Credentials({
    ...(o.dataKey && { dataKey: o.dataKey }),
    ...(o.resolveCredential && { resolve: o.resolveCredential }),
  });
  const breakers = new CircuitBreakers(o.breaker);
  const pools = new UpstreamPools();
  const hooks: TableStoreHooks = {
    prepare: (t) => credentials.prepare(t),
    rejected: (route) => metrics.tablesRejected.labels(route).inc(),
    changed: (tables) => {
      metrics.tablesLoaded.set(tables.length);
      observer?.tablesChanged(tables);
    },
    log,
  };

  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  let store: TableStore;
  if (o.createStore) store = o.createStore(hooks);
  else {
    if (!o.redisURL) throw new Error('startSidecar: redisURL or createStore is required');
    const endpoint: RedisEndpoint = {
      url: o.redisURL,
      ...(o.redisCA && { ca: o.redisCA }),
      ...(o.redisCluster && { cluster: true }),
    };
    redis = connect(endpoint, log);
    subscriber = connect(endpoint, log);
    store = new RedisTableStore({
      redis,
      subscriber,
      namespace: o.namespace,
      ...(o.stateFile && { stateFile: o.stateFile }),
      ...(o.checkIntervalMs && { checkIntervalMs: o.checkIntervalMs }),
      ...(o.missingGraceMs !== undefined && { missingGraceMs: o.missingGraceMs }),
      hooks,
    });
  }
  let budget: BudgetSpend | undefined;
  const usage = redis
    ? new UsageRecorder(redis, o.namespace, {
        ...(o.flushMs && { flushMs: o.flushMs }),
        onError: () => metrics.usageFlushFailures.inc(),
        onSpendApplied: (spend) => budget?.applied(spend),
        ...(o.stateFile && { pendingFile: usageFileOf(o.stateFile) }),
        log,
      })
    : undefined;
  if (redis) budget = new BudgetSpend(redis, o.namespace, () => store.current(), usage);

  const scorer = o.score ? { score: o.score, prior: o.scorePrior } : loadScorer(log);
  const thresholds = new ShareThresholds(scorer.prior);
  const ctx: DecideContext = {
    score: scorer.score,
    threshold: (t) => thresholds.threshold(t),
    random: o.random ?? Math.random,
    ...(budget && { spentUSD: (t) => budget.spentUSD(t) }),
    ...(observer?.explaining && { explain: () => observer.explaining!() }),
  };
  const forwarder: ForwarderDeps = {
    pools,
    breakers,
    credentials,
    onUsage(d, b, tokens) {
      const route = d.table.route.name;
      const cost = usage
        ? usage.record({ table: d.table, backend: b, input: tokens.input, output: tokens.output })
        : UsageRecorder.costMicroUSD(b, tokens.input, tokens.output);
      metrics.tokens.labels(route, b.name, 'input').inc(tokens.input);
      metrics.tokens.labels(route, b.name, 'output').inc(tokens.output);
      metrics.cost.labels(route, b.name).inc(cost / 1e6);
      observer?.usage(d, b, tokens);
    },
    onUpstreamLatency: (d, b, s) => metrics.upstreamLatency.labels(d.table.route.name, b.name).observe(s),
    onFallback: (d, b, reason) => {
      metrics.fallbacks.labels(d.table.route.name, b.name, reason).inc();
      observer?.fallback(d, b, reason);
    },
    onOverhead: (s) => metrics.overhead.observe(s),
    onAnswered: (d, backend, status) => metrics.requests.labels(d.table.route.name, backend, String(status)).inc(),
    ...(observer && { startAttempt: (d: Decision, b: TableBackend) => observer.attempt(d, b) }),
  };
  const limits = new ClientLimits({
    perClient: o.limits?.perClient ?? DEFAULT_MAX_STREAMS_PER_CLIENT,
    total: o.limits?.total ?? 0,
  });
  const handler = createApiHandler({
    store,
    ctx,
    forwarder,
    bodyLimit: o.bodyLimit ?? DEFAULT_BODY_LIMIT,
    limits,
    onRefused: (status) => metrics.requests.labels('-', '-', String(status)).inc(),
    onDecided: (d) => thresholds.observe(d.table, d.score),
    ...(observer && { observer }),
  });

  await Promise.all([store.start(), usage?.restore()]);
  usage?.start();
  budget?.start();

  const api = createServer({ keepAliveTimeout: 65_000 }, handler);
  // Nagle would hold small SSE chunks back; every chunk should leave at once.
  api.on('connection', (s) => s.setNoDelay(true));
  api.on('clientError', answerClientError);
  const listen = o.listen ?? { host: '127.0.0.1', port: 15500 };
  const url = `http://${await listenOn(api, listen)}`;
  let admin: Server | undefined;
  let adminUrl: string | undefined;
  if (o.admin !== false) {
    admin = createAdminServer(store, metrics, () => {
      for (const key of breakers.entries())
        metrics.circuitState.labels(key).set({ closed: 0, open: 1, 'half-open': 2 }[breakers.state(key)]);
      metrics.usagePending.set(usage?.pendingFields() ?? 0);
      metrics.inFlight.set(limits.size());
    });
    adminUrl = `http://${await listenOn(admin, o.admin ?? { host: '127.0.0.1', port: 15501 })}`;
  }

  return {
    url,
    baseURL: `${url}/v1`,
    ...(adminUrl && { adminUrl }),
    store,
    metrics,
    ...(usage && { usage }),
    async close(drainMs = 10_000) {
      const drained = new Promise<void>((r) => api.close(() => r()));
      // Keep-alive connections become idle as their last answer ends; close each then, not at the deadline.
      api.closeIdleConnections();
      const sweep = setInterval(() => api.closeIdleConnections(), 50);
      const force = setTimeout(() => api.closeAllConnections(), drainMs);
      await drained;
      clearInterval(sweep);
      clearTimeout(force);
      if (admin) {
        const a = admin;
        a.closeAllConnections();
        await new Promise<void>((r) => a.close(() => r()));
      }
      budget?.stop();
      await store.close();
      await usage?.close();
      await pools.close();
      subscriber?.disconnect();
      redis?.disconnect();
    },
  };
}

function connect(endpoint: RedisEndpoint, log: (m: string) => void): Redis {
  const r = connectRedis(endpoint, {
    // Fail fast while Redis is away: the request path never waits, and the flusher keeps its batch.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => Math.min(n * 100, 1_000),
  });
  let last = '';
  r.on('error', (err: Error) => {
    if (err.message !== last) log(`redis: ${err.message}`);
    last = err.message;
  });
  r.on('ready', () => (last = ''));
  return r;
}

/** Usage Redis had not acknowledged at the last shutdown, kept next to the state file. */
export function usageFileOf(stateFile: string): string {
  return `${stateFile.replace(/\.json$/, '')}.usage.json`;
}

function listenOn(server: Server, at: HostPort): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}
