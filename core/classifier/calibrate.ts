/**
 * Threshold calibration for `targetShare` routes: the threshold is the (1 - targetShare) quantile of the
 * scores seen recently, so the top tier keeps taking about targetShare of the traffic when the prompt mix
 * drifts.
 *
 * The window is a ring buffer of the last `window` scores, kept as counts in a Fenwick tree over
 * `bins` equal-width score bins: observing is O(log bins) with no allocation, and a quantile is a
 * O(log bins) descent of the tree, interpolated inside its bin. Before any traffic the window is filled
 * with pseudo-scores spread along the shipped prior (quantiles of the training scores), so the first
 * threshold is the prior's and real scores replace the prior one by one.
 */

export interface CalibratorOptions {
  /** Quantiles 0, 1/(m-1), ..., 1 of the expected score distribution (weights.json `prior`). */
  prior: readonly number[];
  /** Scores remembered (default 4096). */
  window?: number;
  /** Score resolution: 1/bins (default 4096). */
  bins?: number;
}

export class ShareCalibrator {
  readonly window: number;
  readonly bins: number;
  private readonly ring: Uint16Array;
  private readonly tree: Int32Array;
  private next = 0;
  private seen = 0;

  constructor(o: CalibratorOptions) {
    this.window = o.window ?? 4096;
    this.bins = o.bins ?? 4096;
    if (!Number.isInteger(this.window) || this.window < 1) throw new RangeError('window must be a positive integer');
    if (!Number.isInteger(this.bins) || this.bins < 2 || this.bins > 65536)
      throw new RangeError('bins must be 2..65536');
    if (o.prior.length < 2) throw new RangeError('prior needs at least two quantiles');
    this.ring = new Uint16Array(this.window);
    this.tree = new Int32Array(this.bins + 1);
    for (let i = 0; i < this.window; i++) {
      const b = this.bin(priorQuantile(o.prior, (i + 0.5) / this.window));
      this.ring[i] = b;
      this.add(b, 1);
    }
  }

  /** Real scores observed so far (the window holds min(seen, window) of them; the rest is prior). */
  get observed(): number {
    return this.seen;
  }

  observe(score: number): void {
    if (!Number.isFinite(score)) return;
    const b = this.bin(score);
    this.add(this.ring[this.next] ?? 0, -1);
    this.add(b, 1);
    this.ring[this.next] = b;
    this.next = this.next + 1 === this.window ? 0 : this.next + 1;
    this.seen++;
  }

  /** The (1 - share) quantile of the window: scores above it go to the top tier. */
  threshold(targetShare: number): number {
    const share = Math.min(1, Math.max(0, targetShare));
    const rank = (1 - share) * this.window;
    if (rank <= 0) return 0;
    if (rank >= this.window) return 1;
    // Largest prefix of bins holding fewer than `rank` scores (Fenwick descent).
    let pos = 0;
    let below = 0;
    for (let step = 1 << Math.floor(Math.log2(this.bins)); step > 0; step >>= 1) {
      const nextPos = pos + step;
      if (nextPos <= this.bins && below + (this.tree[nextPos] ?? 0) < rank) {
        pos = nextPos;
        below += this.tree[nextPos] ?? 0;
      }
    }
    // Bin `pos` (0-based) holds the rank-th score; interpolate inside it.
    const inBin = this.count(pos);
    const frac = inBin > 0 ? (rank - below) / inBin : 1;
    return Math.min(1, (pos + frac) / this.bins);
  }

  private bin(score: number): number {
    const b = Math.floor(Math.min(1, Math.max(0, score)) * this.bins);
    return b >= this.bins ? this.bins - 1 : b;
  }

  private add(bin: number, delta: number): void {
    for (let i = bin + 1; i <= this.bins; i += i & -i) this.tree[i] = (this.tree[i] ?? 0) + delta;
  }

  private count(bin: number): number {
    return this.prefix(bin + 1) - this.prefix(bin);
  }

  private prefix(n: number): number {
    let s = 0;
    for (let i = n; i > 0; i -= i & -i) s += this.tree[i] ?? 0;
    return s;
  }
}

/** Linear interpolation of evenly spaced quantiles at probability p. */
export function priorQuantile(prior: readonly number[], p: number): number {
  const x = Math.min(1, Math.max(0, p)) * (prior.length - 1);
  const i = Math.floor(x);
  const a = prior[i] ?? 0;
  const b = prior[Math.min(prior.length - 1, i + 1)] ?? a;
  return a + (b - a) * (x - i);
}
