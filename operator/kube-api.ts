/**
 * API clients for the reconciler's calls, with two things client-node 1.x does not do by itself:
 * - connection reuse: client-node builds a new https.Agent (a new TLS handshake) for every request; we swap in
 *   one keep-alive agent per set of TLS credentials, which is what makes a cold start over 1,000 routes cheap;
 * - a deadline that aborts the request, so a request on a half-open connection frees its socket instead of
 *   hanging on it forever.
 * Watches do not go through here: each gets its own connection, which the informer aborts when it stalls.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import {
  createConfiguration,
  ServerConfiguration,
  type KubeConfig,
  type Middleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

const agents = new Map<string, Agent>();

function keepAliveAgent(agent: unknown): Agent | undefined {
  // Only plain https agents: proxy agents (cluster.proxyUrl) are left as client-node made them.
  if (!(agent instanceof Agent) || agent.constructor !== Agent) return undefined;
  const o = agent.options;
  const id = createHash('sha256')
    .update(
      JSON.stringify(
        [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized].map((v) =>
          Buffer.isBuffer(v) ? v.toString('base64') : (v ?? null),
        ),
      ),
    )
    .digest('hex');
  let shared = agents.get(id);
  if (!shared) {
    // Idle sockets are dropped after 30 s so a dead peer is not reused long after the fact.
    shared = new Agent({ ...o, keepAlive: true, maxSockets: 64, timeout: 30_000 });
    agents.set(id, shared);
  }
  return shared;
}

/**
 * Closes every pooled connection, in use or idle. Called when a watch stalls: a half-open connection gives no
 * error, so the sockets the pool would hand out next are as suspect as the watch's own.
 */
export function resetConnections(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

export function makeApi<T>(
  kc: KubeConfig,
  Api: new (config: ReturnType<typeof createConfiguration>) => T,
  timeoutMs: number,
): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const middleware: Middleware = {
    pre: async (ctx: RequestContext) => {
      const shared = keepAliveAgent(ctx.getAgent());
      if (shared) ctx.setAgent(shared);
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      return ctx;
    },
    post: async (rsp: ResponseContext) => rsp,
  };
  return new Api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [middleware],
    }),
  );
}
