/** Percentiles and summaries shared by the bench programs (nearest-rank on a sorted copy). */

export function pct(xs: ArrayLike<number>, p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summary(xs: ArrayLike<number>, digits = 3): Summary {
  const f = 10 ** digits;
  const r = (x: number) => Math.round(x * f) / f;
  return { n: xs.length, p50: r(pct(xs, 50)), p90: r(pct(xs, 90)), p99: r(pct(xs, 99)), max: r(pct(xs, 100)) };
}
