/**
 * Where Redis is and how to reach it, as the sidecar and operator mains take it from flags: one URL, an optional
 * CA for rediss:// (so no NODE_EXTRA_CA_CERTS is needed), and whether the URL is a seed node of a Redis Cluster.
 * Both planes get a client with the same interface either way: every key of a namespace carries the `{ns}` hash
 * tag, so their Lua scripts, MGETs and pipelines stay in one slot and work unchanged on a Cluster.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface RedisEndpoint {
  /** redis:// or rediss:// URL; with `cluster`, the seed node (the client discovers the others). */
  url: string;
  /** PEM of the CA that signs the server certificate (rediss:// only). */
  ca?: string;
  cluster?: boolean;
}

export interface ConnectOptions {
  enableOfflineQueue?: boolean;
  maxRetriesPerRequest?: number;
  /** Delay before reconnect attempt n (of a node, or of the whole cluster). */
  retryStrategy: (attempt: number) => number;
}

/**
 * A client for the endpoint. A Cluster is returned as the `Redis` interface the stores take: the commands they
 * use (EVAL, GET, MGET, HGETALL, SUBSCRIBE, single-slot pipelines) behave the same on both.
 */
export function connectRedis(e: RedisEndpoint, o: ConnectOptions): Redis {
  const tls = e.url.startsWith('rediss://') ? { ...(e.ca && { ca: e.ca }) } : undefined;
  const common: RedisOptions = {
    ...(o.enableOfflineQueue !== undefined && { enableOfflineQueue: o.enableOfflineQueue }),
    ...(o.maxRetriesPerRequest !== undefined && { maxRetriesPerRequest: o.maxRetriesPerRequest }),
  };
  if (!e.cluster) return new Redis(e.url, { ...common, retryStrategy: o.retryStrategy, ...(tls && { tls }) });
  const u = new URL(e.url);
  const cluster = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    ...(o.enableOfflineQueue !== undefined && { enableOfflineQueue: o.enableOfflineQueue }),
    clusterRetryStrategy: o.retryStrategy,
    redisOptions: {
      ...common,
      ...(u.username && { username: decodeURIComponent(u.username) }),
      ...(u.password && { password: decodeURIComponent(u.password) }),
      ...(tls && { tls }),
    },
  });
  return cluster as unknown as Redis;
}

/**
 * Reads the `--redis-ca` file; a problem (unreadable, not a PEM certificate, given without rediss://) goes to
 * `problems` as a config error.
 */
export function readRedisCA(file: string, url: string, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(
      `--redis-ca: cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return undefined;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`--redis-ca: '${file}' holds no PEM certificate`);
    return undefined;
  }
  if (url !== '' && !url.startsWith('rediss://')) problems.push('--redis-ca needs a rediss:// URL in --redis');
  return pem;
}

/** `true`/`false` (a bare flag means true) for --redis-cluster / MODELROUTE_REDIS_CLUSTER. */
export function parseClusterFlag(v: string | undefined, problems: string[]): boolean {
  if (v === undefined || v === '' || v === 'false') return false;
  if (v === 'true') return true;
  problems.push(`--redis-cluster must be true or false, got '${v}'`);
  return false;
}
