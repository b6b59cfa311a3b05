import { describe, expect, test } from '@jest/globals';
import {
  type EvalItem,
  apgr,
  costSavedAt,
  cpt,
  oracleBaseline,
  pgrCurve,
  qualityAt,
  randomBaseline,
  report,
  routingCurve,
} from '../../../core/eval/metrics.js';

// Hand-computed: quality weak 0.25, strong 0.75 (gap 0.5). Order by score: A, D, B, C.
// Strong calls k = 0..4 -> quality .25 .5 .75 .75 .75 -> PGR 0 .5 1 1 1 -> APGR (.25+.75+1+1)/4 = .75.
const items: EvalItem[] = [
  { score: 0.9, weak: 0, strong: 1, costWeak: 1, costStrong: 10 }, // A
  { score: 0.7, weak: 1, strong: 1, costWeak: 1, costStrong: 10 }, // B
  { score: 0.5, weak: 0, strong: 0, costWeak: 1, costStrong: 10 }, // C
  { score: 0.8, weak: 0, strong: 1, costWeak: 1, costStrong: 10 }, // D
];

describe('routing metrics on a hand-computed dataset', () => {
  const curve = routingCurve(items);

  test('quality and PGR at every strong-call count', () => {
    expect(Array.from(curve.quality)).toEqual([0.25, 0.5, 0.75, 0.75, 0.75]);
    expect(Array.from(pgrCurve(curve))).toEqual([0, 0.5, 1, 1, 1]);
    expect(curve.qualityWeak).toBe(0.25);
    expect(curve.qualityStrong).toBe(0.75);
  });

  test('APGR is the trapezoid area under PGR(s)', () => {
    expect(apgr(curve)).toBeCloseTo(0.75, 12);
  });

  test('CPT is the smallest share reaching the PGR', () => {
    expect(cpt(curve, 0.5)).toBe(0.25);
    expect(cpt(curve, 0.8)).toBe(0.5);
  });

  test('quality at a share interpolates between whole prompts', () => {
    expect(qualityAt(curve, 0.2)).toBeCloseTo(0.45, 12);
    expect(qualityAt(curve, 0.5)).toBe(0.75);
  });

  test('cost saved at 95% quality: s* = 2/4, cost 4 + 2*9 = 22 of 40', () => {
    expect(costSavedAt(curve, 0.95)).toEqual({ saved: 1 - 22 / 40, share: 0.5 });
  });

  test('report gathers the same figures', () => {
    const r = report(items);
    expect(r).toMatchObject({ n: 4, cpt50: 0.25, cpt80: 0.5, qualityAt50: 0.75, share95: 0.5 });
    expect(r.apgr).toBeCloseTo(0.75, 12);
  });
});

describe('ties and baselines', () => {
  test('a tie group counts as the expected value over its orders', () => {
    // A first, then B and D tied (gains 0 and 1: +0.125 per step on average), then C.
    const tied = items.map((it, i) => ({ ...it, score: [0.9, 0.5, 0.1, 0.5][i] ?? 0 }));
    const curve = routingCurve(tied);
    expect(Array.from(curve.quality)).toEqual([0.25, 0.5, 0.625, 0.75, 0.75]);
    expect(apgr(curve)).toBeCloseTo((0.25 + 0.625 + 0.875 + 1) / 4, 12);
  });

  test('the random router is the diagonal: APGR 0.5, CPT(x) = x rounded up to a prompt', () => {
    const curve = routingCurve(randomBaseline(items));
    expect(Array.from(pgrCurve(curve))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(apgr(curve)).toBe(0.5);
    expect(cpt(curve, 0.5)).toBe(0.5);
    expect(cpt(curve, 0.8)).toBe(1);
  });

  test('the oracle sends exactly the prompts the strong model improves first', () => {
    const curve = routingCurve(oracleBaseline(items));
    expect(Array.from(pgrCurve(curve))).toEqual([0, 0.5, 1, 1, 1]);
  });

  test('the oracle exceeds 1 when the weak model sometimes wins', () => {
    const withLoss = [...items, { score: 0, weak: 1, strong: 0 }];
    expect(apgr(routingCurve(oracleBaseline(withLoss)))).toBeGreaterThan(1);
  });

  test('no quality gap: PGR and APGR are undefined (NaN)', () => {
    const flat = [
      { score: 1, weak: 1, strong: 1 },
      { score: 0, weak: 0, strong: 0 },
    ];
    expect(apgr(routingCurve(flat))).toBeNaN();
  });

  test('calls are counted when costs are omitted', () => {
    const curve = routingCurve(items.map(({ score, weak, strong }) => ({ score, weak, strong })));
    expect(Array.from(curve.cost)).toEqual([4, 4, 4, 4, 4]);
  });
});
