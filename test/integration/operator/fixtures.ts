/**
 * What the operator integration tests share: the CRD applied to a real apiserver, ModelRoute manifests, an
 * in-process operator against real Redis, and readers for what Redis and status hold.
 */
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import type { ModelRoute, RoutingTable } from '../../../core/api/types.js';
import { silentLogger } from '../../../operator/log.js';
import { Operator, type OperatorOptions } from '../../../operator/operator.js';
import type { Kube } from '../../helpers/control-plane.js';

export const CRD_PATH = fileURLToPath(new URL('../../../crds/modelroute.dev_modelroutes.yaml', import.meta.url));

export async function applyCRD(kube: Kube): Promise<void> {
  const applied = await kube.kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRD_PATH]);
  if (applied.code !== 0) throw new Error(`kubectl apply CRD: ${applied.stderr}`);
  const waited = await kube.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/modelroutes.modelroute.dev',
  ]);
  if (waited.code !== 0) throw new Error(`CRD not established: ${waited.stderr}`);
}

export async function createNamespace(kube: Kube, ns: string): Promise<void> {
  const r = await kube.kubectl(['create', 'namespace', ns]);
  if (r.code !== 0 && !r.stderr.includes('AlreadyExists')) throw new Error(`create namespace ${ns}: ${r.stderr}`);
}

/** A valid route: one OpenAI-compatible backend, optionally with a credential from `secret`. */
export function routeManifest(
  ns: string,
  name: string,
  opts: { model?: string; secret?: string; key?: string } = {},
): ModelRoute {
  return {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name, namespace: ns },
    spec: {
      match: { models: [`${name}-model`] },
      backends: [
        {
          name: 'main',
          provider: 'openai-compatible',
          baseURL: 'http://vllm.example:8000/v1',
          model: opts.model ?? 'llama-3-8b',
          ...(opts.secret ? { credentialsSecretRef: { name: opts.secret, key: opts.key ?? 'apiKey' } } : {}),
        },
      ],
      strategy: { fixed: { backend: 'main' } },
    },
  };
}

export async function kubectlApply(kube: Kube, obj: unknown): Promise<void> {
  const r = await kube.kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
}

export async function putSecret(kube: Kube, ns: string, name: string, data: Record<string, string>): Promise<void> {
  await kubectlApply(kube, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: data });
}

export async function getRoute(kc: KubeConfig, ns: string, name: string): Promise<ModelRoute | undefined> {
  const api = kc.makeApiClient(CustomObjectsApi);
  try {
    return (await api.getNamespacedCustomObject({
      group: 'modelroute.dev',
      version: 'v1alpha1',
      plural: 'modelroutes',
      namespace: ns,
      name,
    })) as ModelRoute;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function eventsFor(
  kc: KubeConfig,
  ns: string,
  name: string,
): Promise<{ type?: string; reason?: string; message?: string }[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const list = await api.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

export function ready(route: ModelRoute | undefined): { status: string; reason: string; message: string } | undefined {
  return route?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready=True for the route's current generation, with the version Redis holds. */
export async function publishedVersion(
  kc: KubeConfig,
  redis: Redis,
  ns: string,
  name: string,
): Promise<string | false> {
  const route = await getRoute(kc, ns, name);
  const cond = ready(route);
  if (!route || cond?.status !== 'True' || route.status?.observedGeneration !== route.metadata.generation) return false;
  const inRedis = await redis.get(`mr:{${ns}}:version:${name}`);
  return inRedis !== null && inRedis === route.status?.tableVersion ? inRedis : false;
}

export async function tableIn(redis: Redis, ns: string, name: string): Promise<RoutingTable | null> {
  const raw = await redis.get(`mr:{${ns}}:table:${name}`);
  return raw === null ? null : (JSON.parse(raw) as RoutingTable);
}

export interface RunningOperator {
  operator: Operator;
  redis: Redis;
  stop(): Promise<void>;
}

/** An operator in this process, watching only `namespaces` (the apiserver may be shared with other test files). */
export function startOperator(
  kubeConfig: KubeConfig,
  redisUrl: string,
  namespaces: string[],
  extra: Partial<OperatorOptions> = {},
): RunningOperator {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, retryStrategy: (n) => Math.min(50 * n, 500) });
  redis.on('error', () => undefined);
  const operator = new Operator({ kubeConfig, redis, log: silentLogger, namespaces, redisCheckMs: 500, ...extra });
  operator.start();
  return {
    operator,
    redis,
    async stop() {
      await operator.stop();
      redis.disconnect();
    },
  };
}

export function uniqueNs(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}
