import { describe, expect, test } from '@jest/globals';
import { DENSE_NAMES } from '../../../core/classifier/features.js';
import { wordHash } from '../../../core/classifier/hash.js';
import { type ModelWeights, createClassifier } from '../../../core/classifier/model.js';
import { classifier, score, shippedWeights } from '../../../core/classifier/score.js';

const user = (content: string) => [{ role: 'user', content }];

function weightsWith(
  dense: Partial<Record<string, number>>,
  grams: Record<string, number> = {},
  free: Partial<Record<string, number>> = {},
): ModelWeights {
  const buckets = 1 << 12;
  const n = DENSE_NAMES.length;
  return {
    version: 2,
    buckets,
    bias: 0,
    choiceBias: 0,
    center: 0,
    spread: 1,
    dense: {
      names: [...DENSE_NAMES],
      lo: new Array<number>(n).fill(-1e9),
      hi: new Array<number>(n).fill(1e9),
      mean: new Array<number>(n).fill(0),
      std: new Array<number>(n).fill(1),
      weight: DENSE_NAMES.map((name) => dense[name] ?? 0),
      free: DENSE_NAMES.map((name) => free[name] ?? 0),
    },
    grams: {
      index: Object.keys(grams).map((w) => wordHash(w) & (buckets - 1)),
      weight: Object.values(grams),
    },
    prior: [0, 1],
    meta: {},
  };
}

describe('the model', () => {
  test('is a logistic function of its contributions, which it reports', () => {
    const m = createClassifier(weightsWith({ tokens: 0.5 }));
    const short = m.detail(user('Hi.'));
    const long = m.detail(user('Please summarise the following report about the regional economy in detail.'));
    expect(long.score).toBeGreaterThan(short.score);
    expect(long.score).toBeCloseTo(1 / (1 + Math.exp(-long.logit)), 12);
    expect(long.top[0]?.feature).toBe('tokens');
    expect(long.top[0]?.weight).toBeCloseTo(0.5 * (long.features.dense[0] ?? 0), 3);
  });

  test('a weighted word shows up by name with the sign of its weight', () => {
    const m = createClassifier(weightsWith({}, { quantum: 2, poem: -1 }));
    const hard = m.score(user('Explain quantum tunnelling.'));
    const easy = m.score(user('Write a poem.'));
    expect(hard.score).toBeGreaterThan(0.5);
    expect(easy.score).toBeLessThan(0.5);
    expect(hard.top[0]?.feature).toBe('"quantum"');
    expect(hard.top[0]?.weight).toBeGreaterThan(0);
    expect(easy.top[0]).toMatchObject({ feature: '"poem"' });
    expect(easy.top[0]?.weight).toBeLessThan(0);
  });

  test('clamps features to the trained range', () => {
    const w = weightsWith({ tokens: 1 });
    w.dense.hi[0] = 2;
    const m = createClassifier(w);
    expect(m.score(user('a '.repeat(500))).score).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
  });

  test('multiple-choice prompts get their own intercept and no task-type term', () => {
    const w = weightsWith({}, {}, { cue_compute: 1 });
    w.choiceBias = -1;
    const m = createClassifier(w);
    const question = 'How many eggs are left?';
    const options = '\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:';
    const free = m.detail(user(question));
    const choice = m.detail(user(question + options));
    expect(free.logit).toBeCloseTo(free.features.dense[DENSE_NAMES.indexOf('cue_compute')] ?? NaN, 12);
    expect(free.logit).toBeGreaterThan(0);
    expect(choice.logit).toBeCloseTo(-1, 12);
  });

  test('refuses weights of an older format', () => {
    const w = { ...weightsWith({}), version: 1 } as unknown as ModelWeights;
    expect(() => createClassifier(w)).toThrow(/retrain/);
  });

  test('refuses weights trained on other features', () => {
    const w = weightsWith({});
    w.dense.names = ['something_else', ...DENSE_NAMES.slice(1)];
    expect(() => createClassifier(w)).toThrow(/retrain/);
  });
});

describe('the shipped classifier', () => {
  const chat = [
    { role: 'user', content: 'Write a function that merges two sorted arrays in O(n).' },
    { role: 'assistant', content: 'function merge(a, b) { /* ... */ }' },
    { role: 'user', content: 'Now prove it is correct and make it stable.' },
  ];

  test('is deterministic: same conversation, same score and explanation', () => {
    const a = score(chat);
    const between = score(user('something else entirely, to disturb any reused buffers 123'));
    const b = score(chat);
    expect(b).toEqual(a);
    expect(createClassifier(shippedWeights).score(chat)).toEqual(a);
    expect(between.score).not.toBe(a.score);
  });

  test('without explain: the same score to the bit, and no contributions', () => {
    for (const m of [chat, user(''), user('x'.repeat(100_000)), user('Prove that sqrt 2 is irrational.'), []]) {
      const full = classifier.score(m);
      const bare = classifier.score(m, false);
      expect(Object.is(bare.score, full.score)).toBe(true);
      expect(bare.top).toEqual([]);
      // The bookkeeping skipped without explain leaves nothing behind for the next explained call.
      expect(classifier.score(m)).toEqual(full);
    }
  });

  test('scores lie in [0,1] with at most five contributions, largest first', () => {
    for (const m of [chat, user(''), user('x'.repeat(100_000)), []]) {
      const r = classifier.score(m);
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
      expect(r.top.length).toBeLessThanOrEqual(5);
      const mags = r.top.map((t) => Math.abs(t.weight));
      expect(mags).toEqual([...mags].sort((x, y) => y - x));
    }
  });

  test('ships a monotone prior and fits the 2 MB budget', () => {
    const p = shippedWeights.prior;
    expect(p.length).toBe(101);
    expect(p.every((x, i) => i === 0 || x >= (p[i - 1] ?? 0))).toBe(true);
    expect(JSON.stringify(shippedWeights).length).toBeLessThan(2 * 1024 * 1024);
  });
});
