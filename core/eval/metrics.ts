/**
 * Router metrics exactly as ../shared/router-eval/README.md defines them (after the RouteLLM paper).
 *
 * Prompts go to the strong model in descending score order; the curve has one point per strong-call count
 * k = 0..n (share s = k/n). Ties: prompts with equal scores cannot be ordered by the router, so inside a tie
 * group every point is the expected value over all orders of that group (a linear interpolation across
 * the group). A router with one constant score is therefore exactly the random router: PGR(s) = s,
 * APGR = 0.5, CPT(x) = x rounded up to a whole prompt.
 */

export interface EvalItem {
  /** Router score: higher = more likely to need the strong model. */
  score: number;
  /** Quality of each model's answer, in [0,1]. */
  weak: number;
  strong: number;
  /** Cost of answering with each model (any currency); omitted = 1 each, i.e. calls are counted. */
  costWeak?: number;
  costStrong?: number;
}

export interface RoutingCurve {
  n: number;
  /** quality[k]: mean quality with the k highest-scored prompts on the strong model. */
  quality: Float64Array;
  /** cost[k]: total cost with the k highest-scored prompts on the strong model. */
  cost: Float64Array;
  qualityWeak: number;
  qualityStrong: number;
}

export function routingCurve(items: readonly EvalItem[]): RoutingCurve {
  const n = items.length;
  const order = items.map((_, i) => i).sort((a, b) => (items[b]?.score ?? 0) - (items[a]?.score ?? 0) || a - b);
  const quality = new Float64Array(n + 1);
  const cost = new Float64Array(n + 1);
  let q = 0;
  let c = 0;
  for (const it of items) {
    q += it.weak;
    c += it.costWeak ?? 1;
  }
  quality[0] = n > 0 ? q / n : 0;
  cost[0] = c;
  let k = 0;
  while (k < n) {
    const s = items[order[k] ?? 0]?.score ?? 0;
    let end = k;
    let gain = 0;
    let extra = 0;
    while (end < n && (items[order[end] ?? 0]?.score ?? 0) === s) {
      const it = items[order[end] ?? 0];
      if (it !== undefined) {
        gain += it.strong - it.weak;
        extra += (it.costStrong ?? 1) - (it.costWeak ?? 1);
      }
      end++;
    }
    const size = end - k;
    for (let j = 1; j <= size; j++) {
      quality[k + j] = (q + (gain * j) / size) / n;
      cost[k + j] = c + (extra * j) / size;
    }
    q += gain;
    c += extra;
    k = end;
  }
  return { n, quality, cost, qualityWeak: quality[0] ?? 0, qualityStrong: quality[n] ?? 0 };
}

/** PGR at each k; NaN everywhere when the two models are equally good (no gap to recover). */
export function pgrCurve(curve: RoutingCurve): Float64Array {
  const gap = curve.qualityStrong - curve.qualityWeak;
  return curve.quality.map((q) => (gap === 0 ? NaN : (q - curve.qualityWeak) / gap));
}

/** Area under PGR(s) for s in [0,1] (trapezoids between whole-prompt points). */
export function apgr(curve: RoutingCurve): number {
  const pgr = pgrCurve(curve);
  if (curve.n === 0) return NaN;
  let area = 0;
  for (let k = 1; k <= curve.n; k++) area += ((pgr[k - 1] ?? 0) + (pgr[k] ?? 0)) / 2;
  return area / curve.n;
}

const EPS = 1e-9;

/** CPT(x): smallest strong share s = k/n with PGR(s) >= x (x as a fraction, 0.5 for 50%). */
export function cpt(curve: RoutingCurve, x: number): number {
  const pgr = pgrCurve(curve);
  for (let k = 0; k <= curve.n; k++) if ((pgr[k] ?? NaN) >= x - EPS) return k / curve.n;
  return NaN;
}

/** Mean quality when a share s of prompts goes to the strong model (linear between whole prompts). */
export function qualityAt(curve: RoutingCurve, share: number): number {
  const x = Math.min(1, Math.max(0, share)) * curve.n;
  const lo = Math.floor(x);
  const hi = Math.min(curve.n, lo + 1);
  const a = curve.quality[lo] ?? 0;
  return a + ((curve.quality[hi] ?? a) - a) * (x - lo);
}

/**
 * 1 - cost(s*) / cost(always strong), s* the smallest share whose quality is at least `fraction` of the
 * strong model's. Also returns s*.
 */
export function costSavedAt(curve: RoutingCurve, fraction: number): { saved: number; share: number } {
  const target = fraction * curve.qualityStrong;
  for (let k = 0; k <= curve.n; k++) {
    if ((curve.quality[k] ?? 0) >= target - EPS) {
      const full = curve.cost[curve.n] ?? 0;
      return { saved: full > 0 ? 1 - (curve.cost[k] ?? 0) / full : 0, share: k / curve.n };
    }
  }
  return { saved: NaN, share: NaN };
}

export interface RouterReport {
  n: number;
  qualityWeak: number;
  qualityStrong: number;
  apgr: number;
  cpt50: number;
  cpt80: number;
  qualityAt20: number;
  qualityAt50: number;
  costSaved95: number;
  share95: number;
}

export function report(items: readonly EvalItem[]): RouterReport {
  const curve = routingCurve(items);
  const saved = costSavedAt(curve, 0.95);
  return {
    n: curve.n,
    qualityWeak: curve.qualityWeak,
    qualityStrong: curve.qualityStrong,
    apgr: apgr(curve),
    cpt50: cpt(curve, 0.5),
    cpt80: cpt(curve, 0.8),
    qualityAt20: qualityAt(curve, 0.2),
    qualityAt50: qualityAt(curve, 0.5),
    costSaved95: saved.saved,
    share95: saved.share,
  };
}

/** The random router: one constant score, so every order is equally likely (see the tie rule above). */
export function randomBaseline(items: readonly EvalItem[]): EvalItem[] {
  return items.map((it) => ({ ...it, score: 0 }));
}

/** The oracle: knows each prompt's quality gain from the strong model. */
export function oracleBaseline(items: readonly EvalItem[]): EvalItem[] {
  return items.map((it) => ({ ...it, score: it.strong - it.weak }));
}
