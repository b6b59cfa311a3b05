import { describe, expect, it } from '@jest/globals';
import { compile, tableVersionOf } from '../../../core/api/compile.js';
import { InvalidTableError } from '../../../core/api/errors.js';
import type { RoutingTable } from '../../../core/api/types.js';
import { validateTable } from '../../../core/api/validate-table.js';
import { route } from './routes.js';

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const good = compile(
  route({ fallbacks: [{ backend: 'fast', to: ['smart'] }], budget: { limitUSD: 5, period: 'day', action: 'reject' } }),
);

/** Applies a change and re-hashes, so each case fails on its own problem rather than on the version. */
function broken(change: (t: Mutable) => void, rehash = true): unknown {
  const t = structuredClone(good) as Mutable;
  change(t);
  if (rehash) t.tableVersion = tableVersionOf(t as RoutingTable);
  return t;
}

describe('validateTable', () => {
  it('accepts a compiled table and returns it', () => {
    expect(validateTable(structuredClone(good))).toEqual(good);
  });

  const cases: [string, unknown, string, RegExp][] = [
    ['not an object', 'table', '$', /must be an object/],
    ['future schemaVersion', broken((t) => (t.schemaVersion = 2)), '$.schemaVersion', /unsupported schemaVersion 2/],
    [
      'tampered content',
      broken((t) => (t.backends[0].model = 'x'), false),
      '$.tableVersion',
      /does not match the content/,
    ],
    ['missing tableVersion', broken((t) => delete t.tableVersion, false), '$.tableVersion', /non-empty string/],
    ['no models', broken((t) => (t.match.models = [])), '$.match.models', /at least one model/],
    [
      'upper-case header name',
      broken((t) => (t.match.headers = [{ name: 'X-A', value: '1' }])),
      '$.match.headers[0].name',
      /lower-case/,
    ],
    [
      'NaN price',
      broken((t) => (t.backends[0].pricing.inputPerMillion = NaN), false),
      '$.backends[0].pricing.inputPerMillion',
      /finite number, got NaN/,
    ],
    [
      'negative price',
      broken((t) => (t.backends[1].pricing.outputPerMillion = -1)),
      '$.backends[1].pricing.outputPerMillion',
      /within/,
    ],
    [
      'string timeout',
      broken((t) => (t.backends[0].timeouts.totalMs = '10')),
      '$.backends[0].timeouts.totalMs',
      /finite number/,
    ],
    [
      'unknown provider',
      broken((t) => (t.backends[0].provider = 'anthropic')),
      '$.backends[0].provider',
      /must be one of/,
    ],
    ['ftp baseURL', broken((t) => (t.backends[0].baseURL = 'ftp://x')), '$.backends[0].baseURL', /http\(s\)/],
    ['trailing slash', broken((t) => (t.backends[0].baseURL = 'http://x/v1/')), '$.backends[0].baseURL', /slash/],
    [
      'duplicate backend',
      broken((t) => (t.backends[1].name = 'fast')),
      '$.backends[1].name',
      /duplicate backend name 'fast'/,
    ],
    [
      'tier names a missing backend',
      broken((t) => (t.strategy.tiers[0].backend = 'gone')),
      '$.strategy.tiers[0].backend',
      /no backend of this table: 'gone'/,
    ],
    [
      'fallback names a missing backend',
      broken((t) => (t.backends[0].fallbacks.to = ['gone'])),
      '$.backends[0].fallbacks.to[0]',
      /'gone'/,
    ],
    [
      'fallback to itself',
      broken((t) => (t.backends[0].fallbacks.to = ['fast'])),
      '$.backends[0].fallbacks.to[0]',
      /itself/,
    ],
    [
      'unknown failure kind',
      broken((t) => (t.backends[0].fallbacks.on = ['4xx'])),
      '$.backends[0].fallbacks.on[0]',
      /must be one of/,
    ],
    [
      'tiers not ascending',
      broken((t) => (t.strategy.tiers[0].upTo = 1)),
      '$.strategy.tiers[1].upTo',
      /greater than the previous/,
    ],
    [
      'last tier below 1',
      broken((t) => (t.strategy.tiers[1].upTo = 0.9)),
      '$.strategy.tiers[1].upTo',
      /last tier must have upTo 1/,
    ],
    ['one tier', broken((t) => t.strategy.tiers.pop()), '$.strategy.tiers', /at least two/],
    ['targetShare 1', broken((t) => (t.strategy.targetShare = 1)), '$.strategy.targetShare', /strictly between/],
    [
      'zero weight',
      broken((t) => (t.strategy = { kind: 'weighted', backends: [{ backend: 'fast', weight: 0 }] })),
      '$.strategy.backends[0].weight',
      /greater than 0/,
    ],
    [
      'cheapest names a missing backend',
      broken((t) => (t.strategy = { kind: 'cheapest', backends: ['x'] })),
      '$.strategy.backends[0]',
      /'x'/,
    ],
    [
      'fixed names a missing backend',
      broken((t) => (t.strategy = { kind: 'fixed', backend: 'x' })),
      '$.strategy.backend',
      /'x'/,
    ],
    [
      'unknown strategy',
      broken((t) => (t.strategy = { kind: 'random' })),
      '$.strategy.kind',
      /unknown strategy kind random/,
    ],
    [
      'azure without apiVersion',
      broken((t) => (t.backends[0].provider = 'azure-openai')),
      '$.backends[0].apiVersion',
      /non-empty/,
    ],
    [
      'auth without ref or sealed',
      broken((t) => (t.backends[0].auth = { header: 'authorization' })),
      '$.backends[0].auth',
      /ref or sealed/,
    ],
    ['zero retry attempts', broken((t) => (t.retry.attempts = 0)), '$.retry.attempts', /within/],
    ['budget period', broken((t) => (t.budget.period = 'week')), '$.budget.period', /must be one of/],
    [
      'override not boolean',
      broken((t) => (t.overrides.allowTierHeader = 'yes')),
      '$.overrides.allowTierHeader',
      /boolean/,
    ],
  ];

  it.each(cases)('rejects %s', (_name, table, path, detail) => {
    let err: unknown;
    try {
      validateTable(table);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidTableError);
    expect((err as InvalidTableError).code).toBe('ERR_INVALID_TABLE');
    expect((err as InvalidTableError).path).toBe(path);
    expect((err as InvalidTableError).message).toMatch(detail);
  });
});
