/**
 * A sidecar as it runs in a pod, on loopback: a private redis-server, the lean upstream of bench/proxy.ts
 * (its own process) and `modelroute sidecar` (its own process, so its RSS and event loop are its own).
 * Tables are written the operator's way (operator/redis-store.ts: table, version and index entry in one
 * script, then the pub/sub hint).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { compile } from '../../core/api/compile.js';
import type { ModelRoute, RoutingTable } from '../../core/api/types.js';
import { RedisStore } from '../../operator/redis-store.js';
import { SIDECAR_NODE_OPTIONS } from '../../operator/webhook/mutate-pod.js';
import { freePort, startRedis, type RedisServer } from '../../test/helpers/control-plane.js';
import { DIST } from './dist.js';
import { spawnNode, stopChild, waitHttp } from './procs.js';

/** A route for `model` with one backend on the bench upstream; `rev` changes the content, so the version. */
export function benchRoute(
  ns: string,
  name: string,
  upstream: string,
  opts: { model?: string; rev?: number } = {},
): ModelRoute {
  return {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name, namespace: ns },
    spec: {
      match: { models: [opts.model ?? `${name}-model`] },
      backends: [
        {
          name: 'up',
          provider: 'openai-compatible',
          baseURL: `${upstream}/v1`,
          model: `upstream-model-${opts.rev ?? 0}`,
          pricing: { inputPerMillion: 1, outputPerMillion: 2 },
        },
      ],
      strategy: { fixed: { backend: 'up' } },
    },
  };
}

export interface Stack {
  redis: RedisServer;
  /** Command connection for the bench driver. */
  client: Redis;
  store: RedisStore;
  upstreamURL: string;
  upstream: ChildProcess;
  sidecar?: ChildProcess;
  sidecarURL: string;
  adminURL: string;
  namespace: string;
  startSidecar(): Promise<ChildProcess>;
  publish(route: ModelRoute): Promise<RoutingTable>;
  stop(): Promise<void>;
}

/** `compiled`: run the sidecar from the tsc build in .cache/bench-dist (see dist.ts) instead of through tsx. */
export async function startStack(
  namespace: string,
  opts: { compiled?: boolean; sidecarNodeFlags?: string[] } = {},
): Promise<Stack> {
  const redis = await startRedis();
  const stateDir = mkdtempSync(join(tmpdir(), 'modelroute-bench-'));
  const [upPort, scPort, adminPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const upstream = spawnNode('upstream', ['bench/proxy.ts', '--role', 'upstream', '--port', String(upPort)]);
  const client = new Redis(redis.url);
  const stack: Stack = {
    redis,
    client,
    store: new RedisStore(client),
    upstreamURL: `http://127.0.0.1:${upPort}`,
    upstream,
    sidecarURL: `http://127.0.0.1:${scPort}`,
    adminURL: `http://127.0.0.1:${adminPort}`,
    namespace,
    async startSidecar() {
      const main = opts.compiled ? `${DIST}/cli/main.js` : 'cli/main.ts';
      // As injected into a pod: the same Node options and a state file (saved as tables change).
      const p = spawnNode(
        'sidecar',
        [main, 'sidecar', '--listen', `127.0.0.1:${scPort}`, '--admin', `127.0.0.1:${adminPort}`],
        {
          MODELROUTE_REDIS_URL: redis.url,
          POD_NAMESPACE: namespace,
          MODELROUTE_STATE_FILE: join(stateDir, 'modelroute-tables.json'),
        },
        { tsx: !opts.compiled, nodeFlags: [...SIDECAR_NODE_OPTIONS.split(' '), ...(opts.sidecarNodeFlags ?? [])] },
      );
      stack.sidecar = p;
      await waitHttp(`${stack.adminURL}/healthz`, 200);
      return p;
    },
    async publish(route) {
      const table = compile(route);
      await stack.store.publish(table);
      return table;
    },
    async stop() {
      if (stack.sidecar) await stopChild(stack.sidecar);
      rmSync(stateDir, { recursive: true, force: true });
      await stopChild(upstream);
      client.disconnect();
      await redis.stop();
    },
  };
  await waitHttp(`${stack.upstreamURL}/`);
  return stack;
}

/** Redis INFO as a map of field -> value. */
export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** One Prometheus sample from a /metrics text, by metric name (first series). */
export function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
