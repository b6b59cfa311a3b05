/**
 * The complexity model: logistic regression over standardised dense features plus hashed word uni- and
 * bigrams, with one intercept per prompt structure (multiple choice or free form) and a task-type term
 * that only free-form prompts get. Its output is the probability that a prompt needs the strong model
 * (label: see scripts/train-router.ts), and its explanation is the per-feature contribution to the logit.
 */
import {
  DENSE_NAMES,
  type Extracted,
  type Features,
  MIN_CHOICES,
  extract,
  extractedGramText,
  featuresOf,
} from './features.js';
import type { ChatMessage } from './text.js';

/** What scripts/train-router.ts writes to core/classifier/weights.json. */
export interface ModelWeights {
  version: 2;
  /** Hash buckets for grams (power of two). */
  buckets: number;
  /** Intercept of free-form prompts. */
  bias: number;
  /** Intercept of multiple-choice prompts (at least MIN_CHOICES answer-option lines). */
  choiceBias: number;
  /** The score is sigmoid((logit - center) / spread): 0.5 at the median training prompt, ~0.1/0.9 at its deciles. */
  center: number;
  spread: number;
  /**
   * Raw values are clamped to [lo, hi] (the training 1st..99th percentiles), then standardised. `weight`
   * applies to every prompt; `free` is the task-type term, added for free-form prompts only: what kind of
   * work is asked (math, code, writing), which says little about which multiple-choice question is hard.
   */
  dense: {
    names: string[];
    lo: number[];
    hi: number[];
    mean: number[];
    std: number[];
    weight: number[];
    free: number[];
  };
  /** Sparse gram weights: bucket index and weight, non-zero buckets only. */
  grams: { index: number[]; weight: number[] };
  /** Quantiles 0, 1/100, ..., 1 of the training scores: the calibrator's starting point. */
  prior: number[];
  meta: Record<string, unknown>;
}

export interface Contribution {
  feature: string;
  /** Contribution to the logit (positive pushes towards the strong model). */
  weight: number;
}

export interface ScoreResult {
  score: number;
  top: Contribution[];
}

export interface Classifier {
  /**
   * `explain` (default true): also find the top contributions. Without it `top` is empty and scoring skips
   * the per-bucket bookkeeping, a fifth of its time on long conversations; the sidecar asks only for requests
   * it traces.
   */
  score(messages: readonly ChatMessage[], explain?: boolean): ScoreResult;
  /** Probability and logit parts, for tools that show everything (modelroute explain). */
  detail(messages: readonly ChatMessage[]): ScoreResult & { logit: number; dense: Contribution[]; features: Features };
  readonly weights: ModelWeights;
}

const TOP_K = 5;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function createClassifier(weights: ModelWeights, topK = TOP_K): Classifier {
  const names = weights.dense.names;
  if (weights.version !== 2) throw new Error('classifier weights have an old format: retrain (npm run train:router)');
  if (names.length !== DENSE_NAMES.length || names.some((n, i) => n !== DENSE_NAMES[i])) {
    throw new Error('classifier weights were trained on other dense features: retrain (npm run train:router)');
  }
  const mask = weights.buckets - 1;
  const gramW = new Float32Array(weights.buckets);
  // Folding the re-centring into the weights keeps contributions in the units of the final logit.
  const inv = 1 / weights.spread;
  const bias = (weights.bias - weights.center) * inv;
  const choiceBias = (weights.choiceBias - weights.center) * inv;
  const dw = Float64Array.from(weights.dense.weight, (w) => w * inv);
  const freeW = Float64Array.from(weights.dense.free, (w) => w * inv);
  weights.grams.index.forEach((b, i) => (gramW[b] = (weights.grams.weight[i] ?? 0) * inv));
  const lo = Float64Array.from(weights.dense.lo);
  const hi = Float64Array.from(weights.dense.hi);
  const mean = Float64Array.from(weights.dense.mean);
  const invStd = Float64Array.from(weights.dense.std, (s) => (s > 0 ? 1 / s : 0));

  // Scratch reused by every call (scoring is synchronous): per-bucket sums merge repeats of a gram.
  const denseC = new Float64Array(dw.length);
  const bucketSum = new Float64Array(weights.buckets);
  const bucketFirst = new Int32Array(weights.buckets);
  const touched = new Int32Array(1 << 14);
  const topAt = new Int32Array(topK);
  const topMag = new Float64Array(topK);

  // Insertion into the top-k arrays. Defined once per classifier, not per call: a closure created in
  // evaluate() is an allocation per score (and under tsx's keepNames, an Object.defineProperty as well).
  let kept = 0;
  function consider(at: number, mag: number): void {
    if (kept === topK && mag <= (topMag[topK - 1] ?? 0)) return;
    let j = kept < topK ? kept++ : topK - 1;
    while (j > 0 && (topMag[j - 1] ?? 0) < mag) {
      topMag[j] = topMag[j - 1] ?? 0;
      topAt[j] = topAt[j - 1] ?? 0;
      j--;
    }
    topMag[j] = mag;
    topAt[j] = at;
  }

  function evaluate(f: Extracted, explain = true): { score: number; logit: number; top: Contribution[] } {
    const free = f.choices < MIN_CHOICES;
    let logit = free ? bias : choiceBias;
    for (let i = 0; i < dw.length; i++) {
      const x = Math.min(hi[i] ?? 0, Math.max(lo[i] ?? 0, f.dense[i] ?? 0));
      const w = free ? (dw[i] ?? 0) + (freeW[i] ?? 0) : (dw[i] ?? 0);
      const c = w * (x - (mean[i] ?? 0)) * (invStd[i] ?? 0);
      denseC[i] = c;
      logit += c;
    }
    const norm = f.weightSum > 0 ? 1 / Math.sqrt(f.weightSum) : 0;
    const hashes = f.hashes;
    const gramWeight = f.weights;
    if (!explain) {
      // The same sum in the same order as below, so the score is bit-identical with or without `explain`.
      for (let i = 0; i < f.grams; i++) {
        const w = gramW[(hashes[i] ?? 0) & mask] ?? 0;
        if (w !== 0) logit += w * (gramWeight[i] ?? 0) * norm;
      }
      return { score: 1 / (1 + Math.exp(-logit)), logit, top: [] };
    }
    let nTouched = 0;
    for (let i = 0; i < f.grams; i++) {
      const h = (hashes[i] ?? 0) & mask;
      const w = gramW[h] ?? 0;
      if (w === 0) continue;
      const c = w * (gramWeight[i] ?? 0) * norm;
      logit += c;
      if (bucketSum[h] === 0 && nTouched < touched.length) {
        touched[nTouched++] = h;
        bucketFirst[h] = i;
      }
      bucketSum[h] = (bucketSum[h] ?? 0) + c;
    }

    // Top-k by magnitude over dense features (index i) and gram buckets (index dense + j).
    kept = 0;
    for (let i = 0; i < dw.length; i++) consider(i, Math.abs(denseC[i] ?? 0));
    for (let j = 0; j < nTouched; j++) consider(dw.length + j, Math.abs(bucketSum[touched[j] ?? 0] ?? 0));
    const top: Contribution[] = [];
    for (let k = 0; k < kept; k++) {
      const at = topAt[k] ?? 0;
      if (at < dw.length) top.push({ feature: names[at] ?? '', weight: round3(denseC[at] ?? 0) });
      else {
        const h = touched[at - dw.length] ?? 0;
        top.push({ feature: `"${extractedGramText(f, bucketFirst[h] ?? 0)}"`, weight: round3(bucketSum[h] ?? 0) });
      }
    }
    for (let j = 0; j < nTouched; j++) bucketSum[touched[j] ?? 0] = 0;
    return { score: 1 / (1 + Math.exp(-logit)), logit, top };
  }

  return {
    weights,
    score(messages, explain = true) {
      const { score, top } = evaluate(extract(messages), explain);
      return { score, top };
    },
    detail(messages) {
      const e = extract(messages);
      const r = evaluate(e);
      const features = featuresOf(e);
      const dense = Array.from(denseC, (c, i) => ({ feature: names[i] ?? '', weight: c }));
      return { ...r, dense, features };
    },
  };
}
