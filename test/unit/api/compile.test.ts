import { describe, expect, it } from '@jest/globals';
import { compile, tableVersionOf } from '../../../core/api/compile.js';
import { InvalidRouteError } from '../../../core/api/errors.js';
import type { ModelRoute, SealedCredential } from '../../../core/api/types.js';
import { validateTable } from '../../../core/api/validate-table.js';
import { backend, clone, route } from './routes.js';

const sealed: SealedCredential = { alg: 'A256GCM', keyId: 'k1', iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };

describe('compile: defaults and shape', () => {
  const table = compile(route());
  const fast = table.backends[0]!;

  it.each([
    ['schemaVersion', table.schemaVersion, 1],
    ['route', table.route, { namespace: 'apps', name: 'chat' }],
    ['match', table.match, { models: ['auto'], headers: [], priority: 0 }],
    ['retry', table.retry, { attempts: 1, backoffMs: 250 }],
    ['overrides', table.overrides, { allowTierHeader: false, allowBackendHeader: false }],
    ['timeouts', fast.timeouts, { connectMs: 5000, firstByteMs: 60000, idleMs: 30000, totalMs: 300000 }],
    [
      'capabilities',
      fast.capabilities,
      { reasoning: false, contextWindow: 128000, maxOutputTokens: 4096, tools: true },
    ],
    ['partial capabilities keep the rest', table.backends[1]!.capabilities.reasoning, true],
    ['fallbacks', fast.fallbacks, { to: [], on: ['connect-error', 'timeout', '429', '5xx'] }],
    ['no auth without a secret', fast.auth, undefined],
    ['no budget', table.budget, undefined],
    [
      'last tier takes the rest',
      table.strategy,
      {
        kind: 'complexity',
        tiers: [
          { backend: 'fast', upTo: 0.5 },
          { backend: 'smart', upTo: 1 },
        ],
      },
    ],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('passes validateTable', () => {
    expect(validateTable(JSON.parse(JSON.stringify(table)))).toEqual(table);
  });
});

describe('compile: fields', () => {
  const cases: [string, ModelRoute, (t: ReturnType<typeof compile>) => unknown, unknown][] = [
    [
      'trailing slashes of baseURL are dropped',
      route({ backends: [backend('fast', { baseURL: 'https://api.example.com/v1//' }), backend('smart')] }),
      (t) => t.backends[0]!.baseURL,
      'https://api.example.com/v1',
    ],
    [
      'openai keys go in authorization',
      route({
        backends: [
          backend('fast', { provider: 'openai', credentialsSecretRef: { name: 's', key: 'k' } }),
          backend('smart'),
        ],
      }),
      (t) => t.backends[0]!.auth,
      { header: 'authorization', ref: { name: 's', key: 'k' } },
    ],
    [
      'azure-openai keys go in api-key, with apiVersion',
      route({
        backends: [
          backend('fast', {
            provider: 'azure-openai',
            apiVersion: '2024-10-21',
            credentialsSecretRef: { name: 's', key: 'k' },
          }),
          backend('smart'),
        ],
      }),
      (t) => [t.backends[0]!.auth?.header, t.backends[0]!.apiVersion],
      ['api-key', '2024-10-21'],
    ],
    [
      'header match names are lower-cased',
      route({ match: { models: ['auto'], headers: [{ name: 'X-Team', value: 'Search' }], priority: 5 } }),
      (t) => t.match,
      { models: ['auto'], headers: [{ name: 'x-team', value: 'Search' }], priority: 5 },
    ],
    [
      'fallbacks attach to their backend, `on` defaults to every failure',
      route({
        fallbacks: [
          { backend: 'smart', to: ['fast'] },
          { backend: 'fast', to: ['smart'], on: ['429'] },
        ],
      }),
      (t) => t.backends.map((b) => b.fallbacks),
      [
        { to: ['smart'], on: ['429'] },
        { to: ['fast'], on: ['connect-error', 'timeout', '429', '5xx'] },
      ],
    ],
    [
      'cheapest without a list takes every backend',
      route({ strategy: { cheapest: {} } }),
      (t) => t.strategy,
      { kind: 'cheapest', backends: ['fast', 'smart'] },
    ],
    [
      'weighted keeps weights',
      route({
        strategy: {
          weighted: {
            backends: [
              { backend: 'fast', weight: 9 },
              { backend: 'smart', weight: 1 },
            ],
          },
        },
      }),
      (t) => t.strategy,
      {
        kind: 'weighted',
        backends: [
          { backend: 'fast', weight: 9 },
          { backend: 'smart', weight: 1 },
        ],
      },
    ],
    [
      'fixed',
      route({ strategy: { fixed: { backend: 'smart' } } }),
      (t) => t.strategy,
      { kind: 'fixed', backend: 'smart' },
    ],
    [
      'three tiers with reasoningEffort and targetShare',
      route({
        strategy: {
          complexity: {
            targetShare: 0.2,
            tiers: [
              { backend: 'fast', upTo: 0.3 },
              { backend: 'smart', upTo: 0.7, reasoningEffort: 'low' },
              { backend: 'smart', reasoningEffort: 'high' },
            ],
          },
        },
      }),
      (t) => t.strategy,
      {
        kind: 'complexity',
        targetShare: 0.2,
        tiers: [
          { backend: 'fast', upTo: 0.3 },
          { backend: 'smart', upTo: 0.7, reasoningEffort: 'low' },
          { backend: 'smart', upTo: 1, reasoningEffort: 'high' },
        ],
      },
    ],
    [
      'budget, retry, overrides copied',
      route({
        budget: { limitUSD: 50, period: 'day', action: 'downgrade' },
        retry: { attempts: 3 },
        overrides: { allowTierHeader: true },
      }),
      (t) => [t.budget, t.retry, t.overrides],
      [
        { limitUSD: 50, period: 'day', action: 'downgrade' },
        { attempts: 3, backoffMs: 250 },
        { allowTierHeader: true, allowBackendHeader: false },
      ],
    ],
    [
      'namespace defaults to default',
      { ...route(), metadata: { name: 'x' } },
      (t) => t.route,
      { namespace: 'default', name: 'x' },
    ],
  ];
  it.each(cases)('%s', (_name, r, pick, expected) => {
    const t = compile(r);
    expect(pick(t)).toEqual(expected);
    expect(validateTable(t)).toBe(t);
  });
});

describe('compile: credentials', () => {
  const withSecret = route({
    backends: [
      backend('fast', { provider: 'openai', credentialsSecretRef: { name: 'openai', key: 'apiKey' } }),
      backend('smart'),
    ],
  });

  it('replaces the reference by the sealed credential and never holds plaintext', () => {
    const seen: unknown[] = [];
    const t = compile(withSecret, { seal: (ref) => (seen.push(ref), sealed) });
    expect(seen).toEqual([{ name: 'openai', key: 'apiKey' }]);
    expect(t.backends[0]!.auth).toEqual({ header: 'authorization', sealed });
    expect(validateTable(t)).toBe(t);
  });

  it('keeps the reference when the seal function cannot resolve it', () => {
    expect(compile(withSecret, { seal: () => undefined }).backends[0]!.auth).toEqual({
      header: 'authorization',
      ref: { name: 'openai', key: 'apiKey' },
    });
  });

  it('gives a different version for a different sealed secret', () => {
    const a = compile(withSecret, { seal: () => sealed });
    const b = compile(withSecret, { seal: () => ({ ...sealed, data: 'b3RoZXI=' }) });
    expect(a.tableVersion).not.toBe(b.tableVersion);
  });
});

function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reverseKeys(x)]),
  );
}

describe('compile: tableVersion', () => {
  it('is the same for the same spec, whatever the key order', () => {
    const a = route();
    const b = reverseKeys(a) as ModelRoute;
    const reordered: ModelRoute = {
      kind: a.kind,
      metadata: { namespace: 'apps', name: 'chat' },
      apiVersion: a.apiVersion,
      spec: {
        strategy: a.spec.strategy,
        backends: a.spec.backends.map((x) => ({ ...x, name: x.name })),
        match: a.spec.match,
      },
    };
    expect(compile(a).tableVersion).toMatch(/^[0-9a-f]{20}$/);
    expect(compile(b).tableVersion).toBe(compile(a).tableVersion);
    expect(compile(reordered).tableVersion).toBe(compile(a).tableVersion);
  });

  it('ignores metadata other than namespace and name', () => {
    const a = route();
    const b = clone(a);
    b.metadata.generation = 7;
    b.metadata.resourceVersion = '123';
    expect(compile(b).tableVersion).toBe(compile(a).tableVersion);
  });

  const changes: [string, (r: ModelRoute) => void][] = [
    ['model name', (r) => (r.spec.match.models = ['gpt-4o'])],
    ['priority', (r) => (r.spec.match.priority = 1)],
    ['header match', (r) => (r.spec.match.headers = [{ name: 'x-team', value: 'a' }])],
    ['upstream model', (r) => (r.spec.backends[0]!.model = 'other')],
    ['baseURL', (r) => (r.spec.backends[0]!.baseURL = 'http://other:8000/v1')],
    ['price', (r) => (r.spec.backends[0]!.pricing = { inputPerMillion: 0.16, outputPerMillion: 0.6 })],
    ['context window', (r) => (r.spec.backends[0]!.capabilities = { contextWindow: 8192 })],
    ['timeout', (r) => (r.spec.backends[0]!.timeouts = { totalMs: 1000 })],
    ['threshold', (r) => (r.spec.strategy.complexity!.tiers[0]!.upTo = 0.6)],
    ['targetShare', (r) => (r.spec.strategy.complexity!.targetShare = 0.3)],
    ['strategy', (r) => (r.spec.strategy = { fixed: { backend: 'fast' } })],
    ['fallback', (r) => (r.spec.fallbacks = [{ backend: 'fast', to: ['smart'] }])],
    ['retry', (r) => (r.spec.retry = { attempts: 2 })],
    ['override', (r) => (r.spec.overrides = { allowBackendHeader: true })],
    ['budget', (r) => (r.spec.budget = { limitUSD: 1, period: 'hour', action: 'reject' })],
    ['route name', (r) => (r.metadata.name = 'other')],
    ['namespace', (r) => (r.metadata.namespace = 'other')],
  ];
  it.each(changes)('changes when the %s changes', (_name, change) => {
    const r = route();
    change(r);
    expect(compile(r).tableVersion).not.toBe(compile(route()).tableVersion);
  });

  it('does not change when a default is written out explicitly', () => {
    const r = route({ retry: { attempts: 1, backoffMs: 250 }, overrides: { allowTierHeader: false } });
    expect(compile(r).tableVersion).toBe(compile(route()).tableVersion);
  });

  it('equals tableVersionOf the table', () => {
    const t = compile(route());
    expect(tableVersionOf(t)).toBe(t.tableVersion);
  });
});

describe('compile: invalid routes', () => {
  it('throws InvalidRouteError with every problem', () => {
    const r = route({ backends: [backend('fast'), backend('fast')], strategy: { fixed: { backend: 'nope' } } });
    let err: unknown;
    try {
      compile(r);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidRouteError);
    const e = err as InvalidRouteError;
    expect(e.code).toBe('ERR_INVALID_ROUTE');
    expect(e.problems).toEqual([
      { field: 'spec', message: 'backend names must be unique' },
      { field: 'spec', message: 'strategy.fixed.backend must name a backend in spec.backends' },
    ]);
    expect(e.message).toContain('apps/chat');
  });
});
