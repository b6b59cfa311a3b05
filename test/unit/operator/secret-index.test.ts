import { describe, expect, it } from '@jest/globals';
import type { ModelRoute } from '../../../core/api/types.js';
import { SecretIndex } from '../../../operator/secret-index.js';

function route(ns: string, name: string, secrets: string[]): ModelRoute {
  return {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name, namespace: ns },
    spec: {
      match: { models: ['m'] },
      backends: secrets.map((s, i) => ({
        name: `b${i}`,
        provider: 'openai',
        baseURL: 'https://x',
        model: 'm',
        credentialsSecretRef: { name: s, key: 'k' },
      })),
      strategy: {},
    },
  };
}

describe('SecretIndex', () => {
  it('maps a Secret to the routes of its own namespace that reference it', () => {
    const idx = new SecretIndex();
    idx.set(route('a', 'r1', ['openai', 'azure']));
    idx.set(route('a', 'r2', ['openai']));
    idx.set(route('b', 'r3', ['openai']));
    expect(idx.routesFor('a/openai').sort()).toEqual(['a/r1', 'a/r2']);
    expect(idx.routesFor('b/openai')).toEqual(['b/r3']);
    expect(idx.routesFor('a/azure')).toEqual(['a/r1']);
  });

  it('forgets what a route no longer references, and deleted routes', () => {
    const idx = new SecretIndex();
    idx.set(route('a', 'r1', ['openai']));
    idx.set(route('a', 'r1', ['azure']));
    expect(idx.routesFor('a/openai')).toEqual([]);
    expect(idx.routesFor('a/azure')).toEqual(['a/r1']);
    idx.remove('a/r1');
    expect(idx.routesFor('a/azure')).toEqual([]);
  });
});
