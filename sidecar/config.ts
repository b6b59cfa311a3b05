/**
 * Sidecar configuration from flags and environment, parsed once at start. Every problem is collected and
 * reported together (ERR_SIDECAR_CONFIG), then the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { DATA_KEY_BYTES } from '../core/crypto/seal.js';
import type { DataKeySource } from './credentials.js';
import { parseClusterFlag, readRedisCA } from './redis-connection.js';
import type { HostPort } from './sidecar.js';

export const SIDECAR_FLAGS: Record<string, string> = {
  '--listen': 'API address host:port (default 127.0.0.1:15500)',
  '--admin': 'admin address host:port for /healthz /readyz /metrics /debug/tables (default 127.0.0.1:15501)',
  '--redis': 'Redis URL (env MODELROUTE_REDIS_URL), required',
  '--redis-ca': 'PEM file of the CA that signs the rediss:// server certificate (env MODELROUTE_REDIS_CA_FILE)',
  '--redis-cluster':
    'the --redis URL is a seed node of a Redis Cluster (true|false, bare flag = true; env MODELROUTE_REDIS_CLUSTER)',
  '--namespace': 'namespace whose routes this sidecar serves (env POD_NAMESPACE), required',
  '--state-file': 'where to keep the last good tables, for starting while Redis is down (env MODELROUTE_STATE_FILE)',
  '--body-limit': 'largest request body, bytes or with k/m suffix (default 4m)',
  '--drain-ms': 'how long SIGTERM waits for in-flight requests (default 25000)',
  '--check-interval-ms': 'period of the table version check (default 1000)',
  '--flush-ms': 'period of the usage flush to Redis (default 1000)',
  '--max-streams-per-client':
    'concurrent requests (streams included) per client address; more get 429 too_many_streams (env MODELROUTE_MAX_STREAMS_PER_CLIENT, default 256, 0 = unlimited)',
  '--max-streams':
    'concurrent requests in total, all clients together (env MODELROUTE_MAX_STREAMS, default 0 = unlimited)',
};

export interface SidecarConfig {
  listen: HostPort;
  admin: HostPort;
  redisURL: string;
  /** PEM read from --redis-ca at start. */
  redisCA?: string;
  redisCluster: boolean;
  namespace: string;
  stateFile?: string;
  bodyLimit: number;
  drainMs: number;
  checkIntervalMs: number;
  flushMs: number;
  maxStreamsPerClient: number;
  maxStreams: number;
  /** From MODELROUTE_DATA_KEY (base64) or MODELROUTE_DATA_KEY_FILE (read when needed); absent if neither is set. */
  dataKey?: DataKeySource;
}

export class ConfigError extends Error {
  readonly code = 'ERR_SIDECAR_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export function parseSidecarConfig(argv: readonly string[], env: NodeJS.ProcessEnv): SidecarConfig {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!(name in SIDECAR_FLAGS)) {
      problems.push(`unknown flag ${name}`);
      continue;
    }
    const next = argv[i + 1];
    const bare = eq === -1 && name === '--redis-cluster' && (next === undefined || next.startsWith('--'));
    const value = bare ? 'true' : eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) problems.push(`${name} needs a value`);
    else flags.set(name, value);
  }
  const pick = (flag: string, envName?: string) => flags.get(flag) ?? (envName ? env[envName] : undefined);

  const listen = hostPort(pick('--listen') ?? '127.0.0.1:15500', '--listen', problems);
  const admin = hostPort(pick('--admin') ?? '127.0.0.1:15501', '--admin', problems);
  const redisURL = pick('--redis', 'MODELROUTE_REDIS_URL') ?? '';
  if (redisURL === '') problems.push('--redis (or MODELROUTE_REDIS_URL) is required');
  else if (!/^rediss?:\/\//.test(redisURL))
    problems.push(`--redis must be a redis:// or rediss:// URL, got '${redisURL}'`);
  const namespace = pick('--namespace', 'POD_NAMESPACE') ?? '';
  if (namespace === '') problems.push('--namespace (or POD_NAMESPACE) is required');
  else if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace))
    problems.push(`--namespace '${namespace}' is not a valid namespace name`);
  if (listen && admin && listen.port !== 0 && listen.port === admin.port && listen.host === admin.host)
    problems.push('--listen and --admin must differ');

  const config: SidecarConfig = {
    listen: listen ?? { host: '127.0.0.1', port: 15500 },
    admin: admin ?? { host: '127.0.0.1', port: 15501 },
    redisURL,
    redisCluster: parseClusterFlag(pick('--redis-cluster', 'MODELROUTE_REDIS_CLUSTER'), problems),
    namespace,
    bodyLimit: bytes(pick('--body-limit') ?? '4m', '--body-limit', problems),
    drainMs: int(pick('--drain-ms') ?? '25000', '--drain-ms', problems),
    checkIntervalMs: int(pick('--check-interval-ms') ?? '1000', '--check-interval-ms', problems, 50),
    flushMs: int(pick('--flush-ms') ?? '1000', '--flush-ms', problems, 50),
    maxStreamsPerClient: int(
      pick('--max-streams-per-client', 'MODELROUTE_MAX_STREAMS_PER_CLIENT') ?? '256',
      '--max-streams-per-client',
      problems,
    ),
    maxStreams: int(pick('--max-streams', 'MODELROUTE_MAX_STREAMS') ?? '0', '--max-streams', problems),
  };
  const caFile = pick('--redis-ca', 'MODELROUTE_REDIS_CA_FILE');
  if (caFile) {
    const ca = readRedisCA(caFile, redisURL, problems);
    if (ca) config.redisCA = ca;
  }
  const stateFile = pick('--state-file', 'MODELROUTE_STATE_FILE');
  if (stateFile) config.stateFile = stateFile;
  const key = dataKey(env, problems);
  if (key) config.dataKey = key;
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function hostPort(v: string, flag: string, problems: string[]): HostPort | undefined {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    problems.push(`${flag} must be host:port, got '${v}'`);
    return undefined;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function bytes(v: string, flag: string, problems: string[]): number {
  const m = /^(\d+)([km]?)b?$/i.exec(v.trim());
  const n = m ? Number(m[1]) * ({ '': 1, k: 1024, m: 1024 * 1024 }[m[2]!.toLowerCase()] ?? 1) : NaN;
  if (!m || n < 1024) {
    problems.push(`${flag} must be a size of at least 1k (e.g. 512k, 4m), got '${v}'`);
    return 0;
  }
  return n;
}

function int(v: string, flag: string, problems: string[], min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) problems.push(`${flag} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function dataKey(env: NodeJS.ProcessEnv, problems: string[]): DataKeySource | undefined {
  const b64 = env.MODELROUTE_DATA_KEY;
  const file = env.MODELROUTE_DATA_KEY_FILE;
  if (b64) {
    const key = Buffer.from(b64.trim(), 'base64');
    if (key.length === DATA_KEY_BYTES) return key;
    problems.push(`MODELROUTE_DATA_KEY must be base64 of ${DATA_KEY_BYTES} bytes, got ${key.length}`);
    return undefined;
  }
  if (!file) return undefined;
  // The key Secret is mounted as an optional volume: it may appear after the pod starts, or rotate.
  return () => readDataKeyFile(file);
}

/** The key file holds the 32 raw bytes (as the operator's Secret does) or their base64; absent means not yet. */
export function readDataKeyFile(file: string): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch {
    return undefined;
  }
  if (raw.length === DATA_KEY_BYTES) return raw;
  const key = Buffer.from(raw.toString('utf8').trim(), 'base64');
  return key.length === DATA_KEY_BYTES ? key : undefined;
}
