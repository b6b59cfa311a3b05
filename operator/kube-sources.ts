/**
 * List+watch sources on the apiserver for the informer: ModelRoutes and Secrets, cluster-wide or in one namespace.
 */
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL, type ModelRoute } from '../core/api/types.js';
import type { ListResult, ListWatchSource, WatchHandle } from './informer.js';

function watchPath(watch: Watch, path: string) {
  return async (
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<WatchHandle> => {
    const controller = await watch.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      (type, obj) => onEvent(type, obj),
      onDone,
    );
    return { abort: () => controller.abort() };
  };
}

/** ModelRoutes in `namespace`, or in every namespace when it is undefined. */
export function modelRouteSource(kc: KubeConfig, namespace?: string): ListWatchSource<ModelRoute> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = `/apis/${API_GROUP}/${API_VERSION}`;
  const path = namespace ? `${base}/namespaces/${namespace}/${PLURAL}` : `${base}/${PLURAL}`;
  return {
    description: `modelroutes${namespace ? ` in ${namespace}` : ''}`,
    async list(): Promise<ListResult<ModelRoute>> {
      const params = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
      const res = (
        namespace
          ? await api.listNamespacedCustomObject({ ...params, namespace })
          : await api.listClusterCustomObject(params)
      ) as { items: ModelRoute[]; metadata: { resourceVersion: string } };
      return { items: res.items, resourceVersion: res.metadata.resourceVersion };
    },
    watch: watchPath(new Watch(kc), path),
  };
}

/** Secrets in `namespace`, or in every namespace when it is undefined. */
export function secretSource(kc: KubeConfig, namespace?: string): ListWatchSource<V1Secret> {
  const api = kc.makeApiClient(CoreV1Api);
  const path = namespace ? `/api/v1/namespaces/${namespace}/secrets` : '/api/v1/secrets';
  return {
    description: `secrets${namespace ? ` in ${namespace}` : ''}`,
    async list(): Promise<ListResult<V1Secret>> {
      const res = namespace ? await api.listNamespacedSecret({ namespace }) : await api.listSecretForAllNamespaces();
      return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '' };
    },
    watch: watchPath(new Watch(kc), path),
  };
}

/** The operator keeps only a Secret's identity in memory: it reads the value when it reconciles. */
export function secretIdentity(s: V1Secret): V1Secret {
  return {
    metadata: {
      name: s.metadata?.name,
      namespace: s.metadata?.namespace,
      resourceVersion: s.metadata?.resourceVersion,
    },
  };
}
