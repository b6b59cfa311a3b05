/**
 * Where a backend is called. Only fixed endpoint paths are ever appended to a table's baseURL, so nothing a
 * client sends (path, model name, headers) can make the sidecar call another URL.
 */
import type { TableBackend } from '../core/api/types.js';
import type { Endpoint } from './parse-request.js';

const PATHS: Record<Endpoint, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

export interface Target {
  origin: string;
  path: string;
}

const cache = new WeakMap<TableBackend, Map<Endpoint, Target>>();

export function targetOf(b: TableBackend, endpoint: Endpoint): Target {
  let perEndpoint = cache.get(b);
  if (!perEndpoint) {
    perEndpoint = new Map();
    cache.set(b, perEndpoint);
  }
  let t = perEndpoint.get(endpoint);
  if (!t) {
    t = build(b, endpoint);
    perEndpoint.set(endpoint, t);
  }
  return t;
}

function build(b: TableBackend, endpoint: Endpoint): Target {
  const u = new URL(b.baseURL);
  const base = u.pathname.replace(/\/+$/, '');
  if (b.provider === 'azure-openai') {
    const query = b.apiVersion ? `?api-version=${encodeURIComponent(b.apiVersion)}` : '';
    return {
      origin: u.origin,
      path: `${base}/openai/deployments/${encodeURIComponent(b.model)}${PATHS[endpoint]}${query}`,
    };
  }
  return { origin: u.origin, path: `${base}${PATHS[endpoint]}` };
}
