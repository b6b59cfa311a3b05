/**
 * Writes a route's status with conflict retry: on 409 it re-reads the route and recomputes the status from the
 * fresh object (conditions keep their lastTransitionTime), then tries again. Identical status -> no write, which
 * is what keeps a resync or an operator restart from touching every object.
 */
import type { ModelRoute, ModelRouteStatus } from '../core/api/types.js';
import { sameStatus } from './conditions.js';
import { OperatorError } from './errors.js';
import type { KubeClient } from './kube-client.js';

const ATTEMPTS = 5;

export interface StatusWriteResult {
  changed: boolean;
  /** The status the route has now (undefined: the route is gone). */
  status: ModelRouteStatus | undefined;
}

export async function writeStatus(
  deps: { kube: KubeClient },
  route: ModelRoute,
  compute: (latest: ModelRoute) => ModelRouteStatus,
): Promise<StatusWriteResult> {
  let latest: ModelRoute | undefined = route;
  for (let attempt = 1; ; attempt++) {
    if (!latest) return { changed: false, status: undefined };
    const next = compute(latest);
    if (sameStatus(latest.status, next)) return { changed: false, status: next };
    try {
      await deps.kube.replaceStatus(latest, next);
      return { changed: true, status: next };
    } catch (err) {
      if (!(err instanceof OperatorError && err.code === 'ERR_OPERATOR_CONFLICT') || attempt >= ATTEMPTS) throw err;
      const { namespace = 'default', name } = route.metadata;
      latest = await deps.kube.getRoute(namespace, name);
    }
  }
}
