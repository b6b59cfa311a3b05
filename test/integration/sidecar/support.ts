/**
 * Shared set-up for the sidecar integration tests: ModelRoutes compiled with the real compile(), credentials
 * sealed with a test data key, and tables written into Redis exactly as the operator writes them
 * (table + version + index in one MULTI, then the event).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { compile } from '../../../core/api/compile.js';
import type { ModelRoute, ModelRouteSpec, RoutingTable } from '../../../core/api/types.js';
import { sealCredential } from '../../../core/crypto/seal.js';
import { startSidecar, type Sidecar, type SidecarOptions } from '../../../sidecar/sidecar.js';

export const NS = 'team-a';
export const DATA_KEY = randomBytes(32);

/** The plaintext a backend's Secret holds in these tests: the upstream sees `Bearer <this>`. */
export const secretOf = (name: string, key = 'api-key') => `sk-${name}-${key}`;

export function route(name: string, spec: ModelRouteSpec, namespace = NS): ModelRoute {
  return {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name, namespace, generation: 1 },
    spec,
  };
}

/** Compiles with every credentialsSecretRef sealed under DATA_KEY. */
/** Route `main`: model `m` always goes to the one backend `up` (the setup most of these tests share). */
export function fixedRoute(upstreamURL: string): ModelRoute {
  return route('main', {
    match: { models: ['m'] },
    backends: [backend('up', upstreamURL)],
    strategy: { fixed: { backend: 'up' } },
  });
}

export function tableOf(r: ModelRoute): RoutingTable {
  return compile(r, { seal: (ref) => sealCredential(secretOf(ref.name, ref.key), DATA_KEY) });
}

export function redisClient(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => undefined);
  return r;
}

/** Writes a table as the operator does. `raw` replaces the JSON (to publish a corrupt table). */
export async function publish(
  redis: Redis,
  table: RoutingTable,
  opts: { raw?: string; version?: string } = {},
): Promise<void> {
  const ns = table.route.namespace;
  const name = table.route.name;
  const version = opts.version ?? table.tableVersion;
  await redis
    .multi()
    .set(`mr:{${ns}}:table:${name}`, opts.raw ?? JSON.stringify(table))
    .set(`mr:{${ns}}:version:${name}`, version)
    .hset(`mr:{${ns}}:index`, name, version)
    .exec();
  await redis.publish(`mr:{${ns}}:events`, JSON.stringify({ route: name, tableVersion: version }));
}

export async function unpublish(redis: Redis, ns: string, name: string): Promise<void> {
  await redis
    .multi()
    .del(`mr:{${ns}}:table:${name}`, `mr:{${ns}}:version:${name}`)
    .hdel(`mr:{${ns}}:index`, name)
    .exec();
  await redis.publish(`mr:{${ns}}:events`, JSON.stringify({ route: name, tableVersion: null }));
}

export function startTestSidecar(redisURL: string, extra: Partial<SidecarOptions> = {}): Promise<Sidecar> {
  return startSidecar({
    namespace: NS,
    redisURL,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    dataKey: DATA_KEY,
    checkIntervalMs: 200,
    flushMs: 100,
    log: () => undefined,
    ...extra,
  });
}

export function client(sidecar: Sidecar, opts: { maxRetries?: number } = {}): OpenAI {
  return new OpenAI({
    apiKey: 'app-key-not-forwarded',
    baseURL: sidecar.baseURL,
    maxRetries: opts.maxRetries ?? 0,
    timeout: 20_000,
  });
}

/** A backend entry pointing at a fake upstream. */
export function backend(
  name: string,
  baseURL: string,
  extra: Partial<ModelRouteSpec['backends'][number]> = {},
): ModelRouteSpec['backends'][number] {
  return {
    name,
    provider: 'openai-compatible',
    baseURL,
    model: `${name}-model`,
    credentialsSecretRef: { name, key: 'api-key' },
    pricing: { inputPerMillion: 1, outputPerMillion: 2 },
    ...extra,
  };
}
