/** Route builders for the API unit tests: small valid routes that each test changes in one place. */
import type { BackendSpec, ModelRoute, ModelRouteSpec } from '../../../core/api/types.js';

export function backend(name: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return {
    name,
    provider: 'openai-compatible',
    baseURL: `http://${name}.models:8000/v1`,
    model: `${name}-model`,
    ...extra,
  };
}

export function route(spec: Partial<ModelRouteSpec> = {}, name = 'chat', namespace = 'apps'): ModelRoute {
  return {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name, namespace },
    spec: {
      match: { models: ['auto'] },
      backends: [
        backend('fast', { pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 } }),
        backend('smart', {
          pricing: { inputPerMillion: 2.5, outputPerMillion: 10 },
          capabilities: { reasoning: true },
        }),
      ],
      strategy: { complexity: { tiers: [{ backend: 'fast', upTo: 0.5 }, { backend: 'smart' }] } },
      ...spec,
    },
  };
}

/** Deep copy, so table-driven cases can mutate freely. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}
