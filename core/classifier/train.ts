/**
 * Fitting the logistic regression (used by scripts/train-router.ts; pure, deterministic): full-batch
 * gradient descent with Adam and separate L2 strengths for dense and gram weights, so the same rows
 * always give the same weights, bit for bit.
 */

export interface TrainRow {
  /** Standardised dense features. */
  dense: Float64Array;
  /** Gram buckets and values (already normalised). */
  gramIdx: Uint32Array;
  gramVal: Float64Array;
  /** Target in [0,1] and sample weight. */
  y: number;
  w: number;
  /** Index of the row's own intercept (its prompt structure), or 0 when all rows share one. */
  group: number;
  /** Fixed addition to the row's logit (a term fitted before, e.g. the task-type term); 0 for none. */
  offset: number;
}

export interface FitOptions {
  buckets: number;
  epochs: number;
  learningRate: number;
  l2Dense: number;
  l2Gram: number;
  /** Number of intercepts (one per prompt structure, or 1). */
  groups: number;
  /**
   * Optional sign constraint per dense weight: 1 keeps it >= 0, -1 keeps it <= 0, 0 leaves it free. Applied
   * by projection after every step, so the fit stays deterministic.
   */
  signs?: readonly number[];
}

export interface Fitted {
  /** Intercepts per group. */
  bias: Float64Array;
  dense: Float64Array;
  grams: Float64Array;
}

export function fitLogistic(rows: readonly TrainRow[], nDense: number, o: FitOptions): Fitted {
  const G = o.groups;
  const nParams = G + nDense + o.buckets;
  const theta = new Float64Array(nParams);
  const m = new Float64Array(nParams);
  const v = new Float64Array(nParams);
  const grad = new Float64Array(nParams);
  const b1 = 0.9;
  const b2 = 0.999;
  let totalW = 0;
  for (const r of rows) totalW += r.w;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    grad.fill(0);
    for (const r of rows) {
      let z = (theta[r.group] ?? 0) + r.offset;
      for (let j = 0; j < nDense; j++) z += (theta[G + j] ?? 0) * (r.dense[j] ?? 0);
      for (let k = 0; k < r.gramIdx.length; k++)
        z += (theta[G + nDense + (r.gramIdx[k] ?? 0)] ?? 0) * (r.gramVal[k] ?? 0);
      const p = 1 / (1 + Math.exp(-z));
      const g = ((p - r.y) * r.w) / totalW;
      grad[r.group] = (grad[r.group] ?? 0) + g;
      for (let j = 0; j < nDense; j++) grad[G + j] = (grad[G + j] ?? 0) + g * (r.dense[j] ?? 0);
      for (let k = 0; k < r.gramIdx.length; k++) {
        const at = G + nDense + (r.gramIdx[k] ?? 0);
        grad[at] = (grad[at] ?? 0) + g * (r.gramVal[k] ?? 0);
      }
    }
    for (let j = G; j < nParams; j++) {
      grad[j] = (grad[j] ?? 0) + (j < G + nDense ? o.l2Dense : o.l2Gram) * (theta[j] ?? 0);
    }
    const c1 = 1 - b1 ** epoch;
    const c2 = 1 - b2 ** epoch;
    for (let j = 0; j < nParams; j++) {
      const gj = grad[j] ?? 0;
      if (gj === 0 && (m[j] ?? 0) === 0) continue;
      m[j] = b1 * (m[j] ?? 0) + (1 - b1) * gj;
      v[j] = b2 * (v[j] ?? 0) + (1 - b2) * gj * gj;
      theta[j] = (theta[j] ?? 0) - (o.learningRate * ((m[j] ?? 0) / c1)) / (Math.sqrt((v[j] ?? 0) / c2) + 1e-8);
    }
    if (o.signs) {
      for (let j = 0; j < nDense; j++) {
        const sign = o.signs[j] ?? 0;
        if (sign * (theta[G + j] ?? 0) < 0) theta[G + j] = 0;
      }
    }
  }
  return { bias: theta.slice(0, G), dense: theta.slice(G, G + nDense), grams: theta.slice(G + nDense) };
}
