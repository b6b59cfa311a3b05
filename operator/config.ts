/**
 * Operator configuration from flags and environment, parsed once at start. Every problem is collected and
 * reported together (ERR_OPERATOR_CONFIG), so a bad Deployment is fixed in one round, not one flag per restart.
 */
import { readFileSync } from 'node:fs';
import { OperatorError } from './errors.js';

export interface OperatorConfig {
  kubeconfig: string | undefined;
  redisUrl: string;
  /** PEM read from --redis-ca at start. */
  redisCA: string | undefined;
  redisCluster: boolean;
  namespaces: string[] | undefined;
  leaderElect: boolean;
  leaderElectNamespace: string;
  leaderElectName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  admin: { host: string; port: number };
  concurrency: number;
  resyncMs: number;
  watchTimeoutSeconds: number;
  redisCheckMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  identity: string | undefined;
}

/**
 * Routes reconciled in parallel by default. A first reconcile is two apiserver writes (finalizer, status), so a
 * cold start is paced by apiserver round trips; 16 in flight keeps an apiserver busy without flooding it.
 */
export const DEFAULT_CONCURRENCY = 16;

export const OPERATOR_FLAGS = {
  '--kubeconfig': 'kubeconfig file (env KUBECONFIG; default: in-cluster service account)',
  '--redis': 'Redis URL, redis:// or rediss:// (env MODELROUTE_REDIS_URL; required)',
  '--redis-ca': 'PEM file of the CA that signs the rediss:// server certificate (env MODELROUTE_REDIS_CA_FILE)',
  '--redis-cluster':
    'the --redis URL is a seed node of a Redis Cluster (true|false, bare flag = true; env MODELROUTE_REDIS_CLUSTER)',
  '--namespaces': 'comma-separated namespaces to watch (env MODELROUTE_NAMESPACES; default: all)',
  '--leader-elect': 'elect a leader with a Lease before reconciling (true|false, default false)',
  '--leader-elect-namespace': 'namespace of the Lease (env POD_NAMESPACE; default modelroute-system)',
  '--leader-elect-name': 'name of the Lease (default modelroute-operator)',
  '--lease-duration': 'how long a standby waits before taking an unrenewed lease (default 15s)',
  '--renew-deadline': 'how long the leader retries renewing before it steps down (default 10s)',
  '--retry-period': 'interval between lease attempts (default 2s)',
  '--admin': 'host:port of /healthz, /readyz and /metrics (default 127.0.0.1:15600; port 0 = any)',
  '--concurrency': 'routes reconciled in parallel (default 16)',
  '--resync-period': 'full relist of routes and Secrets (default 10m)',
  '--watch-timeout': 'server-side watch timeout; a watch silent past it (+30s) counts as stalled (default 5m)',
  '--redis-check-interval': 'how often the leader checks that Redis still holds its tables (default 5s)',
  '--log-level': 'debug|info|warn|error (default info)',
  '--identity': 'leader election identity (env POD_NAME; default hostname-pid)',
} as const;

/** Parses `500ms`, `15s`, `2m`, `1h`. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

export function parseOperatorConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!(name in OPERATOR_FLAGS)) {
      problems.push(`unknown flag ${name}`);
      continue;
    }
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      const next = argv[i + 1];
      const boolean = name === '--leader-elect' || name === '--redis-cluster';
      if (boolean && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined || next.startsWith('--')) problems.push(`${name} needs a value`);
      else value = argv[++i];
    }
    if (value !== undefined) flags.set(name, value);
  }
  const str = (flag: string, envName?: string): string | undefined =>
    flags.get(flag) ?? (envName ? env[envName] : undefined);
  const duration = (flag: string, dflt: number): number => {
    const raw = flags.get(flag);
    if (raw === undefined) return dflt;
    const ms = parseDuration(raw);
    if (ms === undefined || ms <= 0) {
      problems.push(`${flag}: '${raw}' is not a positive duration like 500ms, 15s or 2m`);
      return dflt;
    }
    return ms;
  };
  const integer = (flag: string, dflt: number, min: number): number => {
    const raw = flags.get(flag);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`${flag}: '${raw}' must be an integer >= ${min}`);
      return dflt;
    }
    return n;
  };

  const redisUrl = str('--redis', 'MODELROUTE_REDIS_URL') ?? '';
  if (!redisUrl) problems.push('--redis (or MODELROUTE_REDIS_URL) is required');
  else if (!/^rediss?:\/\//.test(redisUrl))
    problems.push(`--redis: '${redisUrl}' must start with redis:// or rediss://`);

  const caFile = str('--redis-ca', 'MODELROUTE_REDIS_CA_FILE');
  let redisCA: string | undefined;
  if (caFile) {
    try {
      redisCA = readFileSync(caFile, 'utf8');
      if (!redisCA.includes('-----BEGIN CERTIFICATE-----'))
        problems.push(`--redis-ca: '${caFile}' holds no PEM certificate`);
    } catch (err) {
      problems.push(`--redis-ca: cannot read '${caFile}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (redisUrl && !redisUrl.startsWith('rediss://')) problems.push('--redis-ca needs a rediss:// URL in --redis');
  }
  const cluster = str('--redis-cluster', 'MODELROUTE_REDIS_CLUSTER') ?? 'false';
  if (cluster !== 'true' && cluster !== 'false' && cluster !== '')
    problems.push(`--redis-cluster: '${cluster}' must be true or false`);

  const nsRaw = str('--namespaces', 'MODELROUTE_NAMESPACES');
  const namespaces = nsRaw
    ? nsRaw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
  for (const ns of namespaces ?? []) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63)
      problems.push(`--namespaces: '${ns}' is not a valid namespace name`);
  }

  const le = flags.get('--leader-elect') ?? 'false';
  if (le !== 'true' && le !== 'false') problems.push(`--leader-elect: '${le}' must be true or false`);
  const leaseDurationMs = duration('--lease-duration', 15_000);
  const renewDeadlineMs = duration('--renew-deadline', Math.min(10_000, Math.round(leaseDurationMs * 0.66)));
  const retryPeriodMs = duration('--retry-period', Math.min(2_000, Math.max(100, Math.round(renewDeadlineMs / 4))));
  if (renewDeadlineMs >= leaseDurationMs)
    problems.push(
      '--renew-deadline must be shorter than --lease-duration (the leader must step down before others may take over)',
    );
  if (retryPeriodMs >= renewDeadlineMs) problems.push('--retry-period must be shorter than --renew-deadline');

  const adminRaw = flags.get('--admin') ?? '127.0.0.1:15600';
  const am = /^(.+):(\d+)$/.exec(adminRaw);
  const adminPort = am ? Number(am[2]) : NaN;
  if (!am || adminPort > 65535) problems.push(`--admin: '${adminRaw}' must be host:port`);

  const logLevel = flags.get('--log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    problems.push(`--log-level: '${logLevel}' must be debug, info, warn or error`);

  const config: OperatorConfig = {
    kubeconfig: str('--kubeconfig', 'KUBECONFIG'),
    redisUrl,
    redisCA,
    redisCluster: cluster === 'true',
    namespaces,
    leaderElect: le === 'true',
    leaderElectNamespace: str('--leader-elect-namespace', 'POD_NAMESPACE') ?? 'modelroute-system',
    leaderElectName: flags.get('--leader-elect-name') ?? 'modelroute-operator',
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    admin: { host: am?.[1] ?? '127.0.0.1', port: Number.isFinite(adminPort) ? adminPort : 15600 },
    concurrency: integer('--concurrency', DEFAULT_CONCURRENCY, 1),
    resyncMs: duration('--resync-period', 10 * 60_000),
    watchTimeoutSeconds: Math.max(1, Math.round(duration('--watch-timeout', 300_000) / 1000)),
    redisCheckMs: duration('--redis-check-interval', 5_000),
    logLevel: logLevel as OperatorConfig['logLevel'],
    identity: str('--identity', 'POD_NAME'),
  };
  if (problems.length > 0) {
    throw new OperatorError('ERR_OPERATOR_CONFIG', `invalid operator configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.freeze(config);
}
