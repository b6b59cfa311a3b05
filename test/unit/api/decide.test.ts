import { describe, expect, it } from '@jest/globals';
import { compile } from '../../../core/api/compile.js';
import {
  RouteError,
  type DecideContext,
  type ModelRouteSpec,
  type RequestFacts,
  type RoutingTable,
} from '../../../core/api/types.js';
import { decide, selectRoute } from '../../../core/decide.js';
import { backend, route } from './routes.js';

function facts(extra: Partial<RequestFacts> & { headers?: Record<string, string> } = {}): RequestFacts {
  const headers = extra.headers ?? {};
  return {
    endpoint: 'chat',
    model: 'auto',
    messages: [{ role: 'user', content: 'hi' }],
    inputTokens: 100,
    wantsTools: false,
    ...extra,
    header: (name) => headers[name],
  };
}

function ctx(extra: Partial<DecideContext> & { scoreValue?: number } = {}): DecideContext & { scored: number } {
  const c = {
    scored: 0,
    score: () => {
      c.scored++;
      return { score: extra.scoreValue ?? 0.2, top: [{ feature: 'length', weight: 0.1 }] };
    },
    random: () => 0,
    ...extra,
  };
  return c;
}

const table = (spec: Partial<ModelRouteSpec> = {}, name?: string, namespace?: string): RoutingTable =>
  compile(route(spec, name, namespace));

const names = (d: { attempts: { name: string }[] }): string[] => d.attempts.map((b) => b.name);

function rejection(fn: () => unknown): RouteError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RouteError) return e;
    throw e;
  }
  throw new Error('expected a RouteError');
}

describe('selectRoute', () => {
  const a = table({ match: { models: ['auto'] } }, 'a');
  const b = table({ match: { models: ['auto'], priority: 10 } }, 'b');
  const teamOnly = table(
    { match: { models: ['auto'], priority: 20, headers: [{ name: 'X-Team', value: 'search' }] } },
    'team',
  );
  const tieZ = table({ match: { models: ['gpt-4o'] } }, 'z', 'ns1');
  const tieA = table({ match: { models: ['gpt-4o'] } }, 'a', 'ns2');
  const tieB = table({ match: { models: ['gpt-4o'] } }, 'b', 'ns1');

  it.each([
    ['no route for the model', [a, b], facts({ model: 'other' }), undefined],
    ['only match', [a], facts(), 'a'],
    ['highest priority wins', [a, b], facts(), 'b'],
    ['header match required', [a, b, teamOnly], facts(), 'b'],
    ['header match on lower-cased lookup', [a, b, teamOnly], facts({ headers: { 'x-team': 'search' } }), 'team'],
    ['header value must be equal', [a, b, teamOnly], facts({ headers: { 'x-team': 'Search' } }), 'b'],
    ['ties by namespace then name', [tieZ, tieA, tieB], facts({ model: 'gpt-4o' }), 'b'],
  ])('%s', (_name, tables, f, expected) => {
    expect(selectRoute(tables, f)?.route.name).toBe(expected);
  });
});

describe('decide: complexity', () => {
  const three = table({
    backends: [
      backend('mini', {
        capabilities: { contextWindow: 1000 },
        pricing: { inputPerMillion: 0.1, outputPerMillion: 0.4 },
      }),
      backend('mid', { pricing: { inputPerMillion: 1, outputPerMillion: 4 } }),
      backend('deep', { capabilities: { reasoning: true }, pricing: { inputPerMillion: 10, outputPerMillion: 40 } }),
    ],
    strategy: {
      complexity: {
        tiers: [
          { backend: 'mini', upTo: 0.3 },
          { backend: 'mid', upTo: 0.7 },
          { backend: 'deep', reasoningEffort: 'high' },
        ],
      },
    },
  });

  it.each([
    [0, 0, 'mini'],
    [0.3, 0, 'mini'],
    [0.31, 1, 'mid'],
    [0.7, 1, 'mid'],
    [0.71, 2, 'deep'],
    [1, 2, 'deep'],
  ])('score %s -> tier %s (%s)', (score, tier, name) => {
    const d = decide(three, facts(), ctx({ scoreValue: score }));
    expect([d.tier, names(d)[0], d.score]).toEqual([tier, name, score]);
    expect(d.top).toEqual([{ feature: 'length', weight: 0.1 }]);
    expect(d.reason).toContain(`tier ${tier}`);
    expect(d.budget).toBeUndefined();
  });

  it('asks the scorer for top features only when the context explains, and keeps them then', () => {
    const asked: (boolean | undefined)[] = [];
    const scorer = (explain?: boolean) => {
      asked.push(explain);
      return { score: 0.5, top: explain ? [{ feature: 'length', weight: 0.1 }] : [] };
    };
    const plain = decide(three, facts(), ctx({ score: (_m, explain) => scorer(explain) }));
    const traced = decide(three, facts(), ctx({ score: (_m, explain) => scorer(explain), explain: () => true }));
    expect(asked).toEqual([false, true]);
    expect(plain.top).toBeUndefined();
    expect(traced.top).toEqual([{ feature: 'length', weight: 0.1 }]);
  });

  it('takes reasoningEffort from the tier', () => {
    expect(decide(three, facts(), ctx({ scoreValue: 0.9 })).reasoningEffort).toBe('high');
    expect(decide(three, facts(), ctx({ scoreValue: 0.5 })).reasoningEffort).toBeUndefined();
  });

  it('escalates to the next tier when the request does not fit', () => {
    const d = decide(three, facts({ inputTokens: 5000 }), ctx({ scoreValue: 0.1 }));
    expect([d.tier, names(d)]).toEqual([1, ['mid']]);
    expect(d.reason).toContain('escalated');
  });

  const calibrated = table({
    strategy: { complexity: { targetShare: 0.2, tiers: [{ backend: 'fast', upTo: 0.5 }, { backend: 'smart' }] } },
  });
  it.each([
    ['calibrated threshold moves the boundary', calibrated, 0.6, () => 0.8, 0],
    ['calibrated threshold, above it', calibrated, 0.85, () => 0.8, 1],
    ['without a calibration, upTo applies', calibrated, 0.6, () => undefined, 1],
    ['threshold ignored without targetShare', table(), 0.6, () => 0.8, 1],
  ])('%s', (_name, t, score, threshold, tier) => {
    expect(decide(t, facts(), ctx({ scoreValue: score, threshold })).tier).toBe(tier);
  });
});

describe('decide: weighted, cheapest, fixed', () => {
  const weighted = table({
    strategy: {
      weighted: {
        backends: [
          { backend: 'fast', weight: 90 },
          { backend: 'smart', weight: 10 },
        ],
      },
    },
  });
  it.each([
    [0, 'fast'],
    [0.899, 'fast'],
    [0.9, 'smart'],
    [0.999, 'smart'],
  ])('weighted random %s -> %s, without scoring', (r, name) => {
    const c = ctx({ random: () => r });
    const d = decide(weighted, facts(), c);
    expect(names(d)).toEqual([name]);
    expect(c.scored).toBe(0);
    expect(d.tier).toBeUndefined();
  });

  const cheapest = table({
    backends: [
      backend('small', {
        capabilities: { contextWindow: 8000, tools: false },
        pricing: { inputPerMillion: 0.1, outputPerMillion: 0.1 },
      }),
      backend('big', {
        capabilities: { contextWindow: 200000 },
        pricing: { inputPerMillion: 3, outputPerMillion: 15 },
      }),
      backend('mid', {
        capabilities: { contextWindow: 32000 },
        pricing: { inputPerMillion: 0.5, outputPerMillion: 1.5 },
      }),
      backend('cheap-out', {
        capabilities: { contextWindow: 32000 },
        pricing: { inputPerMillion: 0.6, outputPerMillion: 0.2 },
      }),
    ],
    strategy: { cheapest: {} },
  });
  it.each([
    ['smallest fits', facts({ inputTokens: 100 }), 'small'],
    ['too long for small', facts({ inputTokens: 7900, maxOutputTokens: 200 }), 'mid'],
    ['tools skip small', facts({ wantsTools: true }), 'cheap-out'],
    ['output-heavy prefers cheap output', facts({ inputTokens: 9000, maxOutputTokens: 20000 }), 'cheap-out'],
    ['only big fits', facts({ inputTokens: 100000 }), 'big'],
  ])('cheapest: %s', (_name, f, name) => {
    expect(names(decide(cheapest, f, ctx()))[0]).toBe(name);
  });

  it('cheapest: nothing fits -> no_backend_fits 400', () => {
    const e = rejection(() => decide(cheapest, facts({ inputTokens: 300000 }), ctx()));
    expect([e.code, e.status]).toEqual(['no_backend_fits', 400]);
    expect(e.message).toContain('300000 input tokens');
  });

  it('fixed', () => {
    const d = decide(table({ strategy: { fixed: { backend: 'smart' } } }), facts(), ctx());
    expect([names(d), d.reason]).toEqual([['smart'], 'fixed: smart']);
  });
});

describe('decide: attempts', () => {
  const t = table({
    backends: [backend('a'), backend('b'), backend('c', { capabilities: { contextWindow: 500 } }), backend('d')],
    strategy: { fixed: { backend: 'a' } },
    fallbacks: [
      { backend: 'a', to: ['b', 'c', 'd', 'b'] },
      { backend: 'b', to: ['d'] },
    ],
  });
  it.each([
    ['chosen then its fallbacks, skipping duplicates', facts(), ['a', 'b', 'c', 'd']],
    ['skipping backends that do not fit', facts({ inputTokens: 1000 }), ['a', 'b', 'd']],
  ])('%s', (_name, f, expected) => {
    expect(names(decide(t, f, ctx()))).toEqual(expected);
  });

  it('drops a chosen backend that does not fit but keeps its fallbacks', () => {
    const u = table({
      backends: [backend('a', { capabilities: { contextWindow: 500 } }), backend('b')],
      strategy: { fixed: { backend: 'a' } },
      fallbacks: [{ backend: 'a', to: ['b'] }],
    });
    expect(names(decide(u, facts({ inputTokens: 1000 }), ctx()))).toEqual(['b']);
  });
});

describe('decide: overrides', () => {
  const open = table({ overrides: { allowTierHeader: true, allowBackendHeader: true } });
  const closed = table();

  it.each([
    ['tier index', { 'x-modelroute-tier': '1' }, 'smart', 1],
    ['tier by backend name', { 'x-modelroute-tier': 'fast' }, 'fast', 0],
    ['backend', { 'x-modelroute-backend': 'smart' }, 'smart', undefined],
  ])('pins by %s without scoring', (_name, headers, name, tier) => {
    const c = ctx({ scoreValue: 0.9 });
    const d = decide(open, facts({ headers }), c);
    expect([names(d)[0], d.tier, c.scored]).toEqual([name, tier, 0]);
    expect(d.reason).toContain('pinned');
  });

  it.each([
    ['tier header not allowed', closed, { 'x-modelroute-tier': '1' }, 'override_not_allowed', 403],
    ['backend header not allowed', closed, { 'x-modelroute-backend': 'smart' }, 'override_not_allowed', 403],
    ['tier out of range', open, { 'x-modelroute-tier': '5' }, 'bad_request', 400],
    ['tier unknown name', open, { 'x-modelroute-tier': 'huge' }, 'bad_request', 400],
    ['unknown backend', open, { 'x-modelroute-backend': 'huge' }, 'bad_request', 400],
    [
      'tier on a route without tiers',
      table({ strategy: { fixed: { backend: 'fast' } }, overrides: { allowTierHeader: true } }),
      { 'x-modelroute-tier': '0' },
      'bad_request',
      400,
    ],
  ])('%s', (_name, t, headers, code, status) => {
    const e = rejection(() => decide(t, facts({ headers }), ctx()));
    expect([e.code, e.status]).toEqual([code, status]);
  });
});

describe('decide: budget', () => {
  const budget = (action: 'reject' | 'downgrade', spec: Partial<ModelRouteSpec> = {}): RoutingTable =>
    table({ budget: { limitUSD: 10, period: 'day', action }, overrides: { allowBackendHeader: true }, ...spec });

  it('under budget: ok', () => {
    const d = decide(budget('reject'), facts(), ctx({ scoreValue: 0.9, spentUSD: () => 9.99 }));
    expect([names(d)[0], d.budget]).toEqual(['smart', 'ok']);
  });

  it('over budget with reject: budget_exceeded 429', () => {
    const e = rejection(() => decide(budget('reject'), facts(), ctx({ spentUSD: () => 10 })));
    expect([e.code, e.status]).toEqual(['budget_exceeded', 429]);
    expect(e.message).toContain('$10');
  });

  it('over budget with downgrade: cheapest tier, even when pinned', () => {
    const c = ctx({ scoreValue: 0.9, spentUSD: () => 11 });
    const d = decide(budget('downgrade'), facts({ headers: { 'x-modelroute-backend': 'smart' } }), c);
    expect([names(d), d.tier, d.budget, c.scored]).toEqual([['fast'], 0, 'downgraded', 0]);
    expect(d.reason).toContain('over budget');
  });

  it('over budget with downgrade on weighted: cheapest backend', () => {
    const t = budget('downgrade', {
      strategy: {
        weighted: {
          backends: [
            { backend: 'smart', weight: 1 },
            { backend: 'fast', weight: 1 },
          ],
        },
      },
    });
    const d = decide(t, facts(), ctx({ random: () => 0, spentUSD: () => 11 }));
    expect([names(d), d.budget]).toEqual([['fast'], 'downgraded']);
  });

  it('without spentUSD the budget counts as unspent', () => {
    expect(decide(budget('reject'), facts(), ctx()).budget).toBe('ok');
  });
});
