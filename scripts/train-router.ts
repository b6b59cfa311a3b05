/**
 * `npm run train:router [-- --data DIR --seed N --folds K --out FILE --oof FILE --no-write]`
 *
 * Rebuilds core/classifier/weights.json from router-eval dev data only (default ../shared/router-eval/dev).
 * Prints grouped cross-validation (whole MMLU subjects held out per fold; GSM8K split into the same number
 * of folds), a cross-set transfer check, then trains on everything. Training is full-batch and starts from
 * zeros; the seed only assigns folds. Same data and seed: byte-identical weights.
 *
 * Label: y = (strong - weak + 1) / 2. 1 when only the strong model is right, 0 when only the weak one is,
 * 0.5 when they agree, so the model ranks prompts by expected quality gain, which is what APGR rewards.
 * Measured in grouped CV against the alternatives (APGR gsm8k / mmlu): this 0.556 / 0.549, "strong wins"
 * (max(0, gain)) 0.524 / 0.519, "weak fails" (1 - weak) 0.499 / 0.501: the last also sends the prompts both
 * models fail, which costs money for nothing. `--label weak-fails|strong-wins` trains on the others.
 *
 * Model (`--mode typed`, the default; see train()): one intercept per prompt structure (multiple choice or
 * free form) so the fit ranks prompts inside each structure instead of learning what tells MMLU from GSM8K,
 * plus a task-type term fitted between groups (MMLU subjects, GSM8K) and applied to free-form prompts
 * only, which is what orders math and code above writing in open chat. Grouped CV APGR gsm8k / mmlu
 * (pooled): typed 0.636 / 0.552 (0.644 / 0.549 before the multiple-choice phrasing class; 0.646 / 0.550 before
 * the type-term sign constraints), within (no type term) 0.615 / 0.549, shared (one intercept, rows weighted
 * as they come: the earlier model) 0.573 / 0.509. `--weigh rows` drops the equal weight per structure.
 * docs/router.md has the figures and what was tried.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { DENSE_NAMES, MIN_CHOICES, TOKEN_COEF, extractFeatures, tokenCounts } from '../core/classifier/features.js';
import type { ModelWeights } from '../core/classifier/model.js';
import { type FitOptions, type TrainRow, fitLogistic } from '../core/classifier/train.js';
import { type EvalItem, report } from '../core/eval/metrics.js';
import { type RouterEvalRow, parseJsonl } from '../core/eval/router-eval.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(root, '../shared/router-eval/dev') },
    out: { type: 'string', default: path.join(root, 'core/classifier/weights.json') },
    seed: { type: 'string', default: '42' },
    folds: { type: 'string', default: '5' },
    label: { type: 'string', default: 'gain' },
    epochs: { type: 'string', default: '300' },
    'l2-dense': { type: 'string', default: '0.001' },
    'l2-gram': { type: 'string', default: '0.003' },
    'no-grams': { type: 'boolean', default: false },
    mode: { type: 'string', default: 'typed' },
    weigh: { type: 'string', default: 'structures' },
    'no-write': { type: 'boolean', default: false },
    drop: { type: 'string', default: '' },
    'no-signs': { type: 'boolean', default: false },
    oof: { type: 'string' },
  },
});

const BUCKETS = 1 << 15;
const NDENSE = DENSE_NAMES.length;
const fit: FitOptions = {
  buckets: BUCKETS,
  epochs: Number(args.epochs),
  learningRate: 0.05,
  l2Dense: Number(args['l2-dense']),
  l2Gram: Number(args['l2-gram']),
  groups: 1,
};

/** mulberry32: a tiny seeded PRNG so fold assignment is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

interface Example {
  row: RouterEvalRow;
  set: string;
  group: string;
  raw: Float64Array;
  gramIdx: Uint32Array;
  gramVal: Float64Array;
  y: number;
  /** Multiple choice (features.ts `choices` >= MIN_CHOICES): the prompt structure. */
  choice: boolean;
}

function load(dir: string): Example[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  const out: Example[] = [];
  for (const file of files) {
    const set = file.replace(/\.jsonl$/, '');
    for (const row of parseJsonl(readFileSync(path.join(dir, file), 'utf8'))) {
      if (!row.weak || !row.strong) continue;
      const f = extractFeatures(row.messages);
      let total = 0;
      for (const w of f.gramWeight) total += w;
      const norm = total > 0 ? 1 / Math.sqrt(total) : 0;
      const gramIdx = args['no-grams'] ? new Uint32Array(0) : Uint32Array.from(f.grams, (h) => h & (BUCKETS - 1));
      const gramVal = args['no-grams'] ? new Float64Array(0) : Float64Array.from(f.gramWeight, (w) => w * norm);
      const gain = row.strong.quality - row.weak.quality;
      const y =
        args.label === 'weak-fails'
          ? 1 - row.weak.quality
          : args.label === 'strong-wins'
            ? Math.max(0, gain)
            : (gain + 1) / 2;
      const group = set === 'mmlu' ? (row.category ?? set) : set;
      const choice = f.choices >= MIN_CHOICES;
      out.push({ row, set, group, raw: Float64Array.from(f.dense), gramIdx, gramVal, y, choice });
    }
  }
  return out;
}

interface Scaling {
  lo: number[];
  hi: number[];
  mean: number[];
  std: number[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/**
 * Raw features are clamped to the 1st..99th percentile of the training data before standardising: a
 * 5-token chat greeting or a 30k-token paste must not extrapolate a linear term far beyond what was seen.
 */
function standardiser(train: readonly Example[]): Scaling {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let j = 0; j < NDENSE; j++) {
    const v = train.map((e) => e.raw[j] ?? 0).sort((a, b) => a - b);
    lo.push(v[Math.floor(0.01 * (v.length - 1))] ?? 0);
    hi.push(v[Math.ceil(0.99 * (v.length - 1))] ?? 0);
  }
  const x = (e: Example, j: number): number => clamp(e.raw[j] ?? 0, lo[j] ?? 0, hi[j] ?? 0);
  const mean = new Array<number>(NDENSE).fill(0);
  const std = new Array<number>(NDENSE).fill(0);
  for (const e of train) for (let j = 0; j < NDENSE; j++) mean[j] = (mean[j] ?? 0) + x(e, j) / train.length;
  for (const e of train) {
    for (let j = 0; j < NDENSE; j++) std[j] = (std[j] ?? 0) + (x(e, j) - (mean[j] ?? 0)) ** 2 / train.length;
  }
  // A dropped feature gets std 0: it standardises to 0 everywhere and so keeps weight 0.
  const dropped = new Set(args.drop.split(',').filter(Boolean));
  return { lo, hi, mean, std: std.map((v, j) => (dropped.has(DENSE_NAMES[j] ?? '') ? 0 : Math.sqrt(v))) };
}

function standardise(e: Example, s: Scaling): Float64Array {
  return e.raw.map((v, j) => {
    const sd = s.std[j] ?? 0;
    return sd > 0 ? (clamp(v, s.lo[j] ?? 0, s.hi[j] ?? 0) - (s.mean[j] ?? 0)) / sd : 0;
  });
}

/**
 * What the task-type term sees: what kind of work is asked, never length, format or topic words. Not
 * `cue_choice` (multiple-choice phrasing): that is answer format, and the term applies to free-form prompts.
 */
const TYPE_FEATURES = new Set<string>([
  'numbers',
  'math_symbols',
  'latex',
  'code_symbols',
  'code_fence',
  ...DENSE_NAMES.filter((n) => n.startsWith('cue_') && n !== 'cue_choice'),
]);
const typeMask = DENSE_NAMES.map((n) => (TYPE_FEATURES.has(n) ? 1 : 0));

function toRows(examples: readonly Example[], s: Scaling, offset: (e: Example) => number): TrainRow[] {
  const grams = !args['no-grams'];
  // `--weigh structures` (default): free-form and multiple-choice rows carry equal total weight, so the shared
  // weights are not 88% fitted to multiple-choice questions while the traffic is mostly free-form chat.
  const nChoice = examples.filter((e) => e.choice).length;
  const equal = args.weigh === 'structures' && nChoice > 0 && nChoice < examples.length;
  const balance = equal ? nChoice / (examples.length - nChoice) : 1;
  return examples.map((e) => ({
    dense: standardise(e, s),
    gramIdx: grams ? e.gramIdx : new Uint32Array(0),
    gramVal: grams ? e.gramVal : new Float64Array(0),
    y: e.y,
    w: e.choice ? 1 : balance,
    group: args.mode !== 'shared' && e.choice ? 1 : 0,
    offset: offset(e),
  }));
}

/**
 * Sign constraints on the task-type term, by feature: +1 never below 0, -1 never above 0. The term is fitted
 * on 26 group means, 25 of them multiple-choice subjects, and between those subjects numbers and math
 * terms mark the ones both models fail (college chemistry and physics): unconstrained, it learned
 * "numbers and math terms lower the gain" and carried that multiple-choice effect to free-form prompts,
 * where it scored short math and proof requests like greetings. The constraint encodes the one thing the
 * design assumes and the dev data cannot show: asking for math, code or reasoning never makes the strong
 * model less needed, and asking for creative writing never more. The data still sets every size and can
 * set any weight to 0; `constraint` (format rules, common in plain writing requests) is left free.
 */
const TYPE_SIGNS: Partial<Record<string, number>> = {
  numbers: 1,
  math_symbols: 1,
  latex: 1,
  code_symbols: 1,
  code_fence: 1,
  cue_reasoning: 1,
  cue_compute: 1,
  cue_code: 1,
  cue_math_term: 1,
  cue_creative: -1,
};

/**
 * Fits the task-type term (weights over standardised TYPE_FEATURES) on one row per group (MMLU subject,
 * other set): mean standardised features, mean label, weighted by the group's size. It learns which kinds
 * of task need the strong model more, between groups, not which prompt inside a subject is harder (nor the
 * within-subject quirks of a few numeric subjects, which is what a per-prompt fit of these features learned).
 * Signs are constrained by TYPE_SIGNS unless `--no-signs`.
 */
function fitTypeTerm(examples: readonly Example[], s: Scaling): Float64Array {
  const byGroup = new Map<string, Example[]>();
  for (const e of examples) byGroup.set(e.group, [...(byGroup.get(e.group) ?? []), e]);
  const rows: TrainRow[] = [...byGroup.keys()].sort().map((g) => {
    const xs = byGroup.get(g) ?? [];
    const dense = new Float64Array(NDENSE);
    let y = 0;
    for (const e of xs) {
      const d = standardise(e, s);
      for (let j = 0; j < NDENSE; j++) dense[j] = (dense[j] ?? 0) + ((typeMask[j] ?? 0) * (d[j] ?? 0)) / xs.length;
      y += e.y / xs.length;
    }
    return { dense, gramIdx: new Uint32Array(0), gramVal: new Float64Array(0), y, w: xs.length, group: 0, offset: 0 };
  });
  const signs = args['no-signs'] ? undefined : DENSE_NAMES.map((n) => TYPE_SIGNS[n] ?? 0);
  return fitLogistic(rows, NDENSE, { ...fit, signs }).dense.map((w, j) => w * (typeMask[j] ?? 0));
}

function typeLogit(weight: Float64Array, d: Float64Array): number {
  let z = 0;
  for (let j = 0; j < NDENSE; j++) z += (weight[j] ?? 0) * (d[j] ?? 0);
  return z;
}

/**
 * `--mode`:
 * - `typed` (default): two fits. First the task-type term (fitTypeTerm), which learns why math word
 *   problems need the strong model more than multiple-choice questions (compute and code cues up, creative
 *   cues down) and is what separates math and code from writing in open chat. Then the main fit with one
 *   intercept per prompt structure (multiple choice / free form), all features and grams, and the type term
 *   as a fixed offset on free-form prompts only: inside each structure it learns what makes one prompt
 *   harder than another, instead of what tells the two dev sets apart.
 * - `within`: per-structure intercepts and no type term.
 * - `shared`: one intercept, all features, no type term (the earlier default).
 */
function train(examples: readonly Example[]) {
  const s = standardiser(examples);
  const type = args.mode === 'typed' ? fitTypeTerm(examples, s) : undefined;
  const offset = (e: Example, d: Float64Array): number => (type && !e.choice ? typeLogit(type, d) : 0);
  const groups = args.mode === 'shared' ? 1 : 2;
  const main = fitLogistic(
    toRows(examples, s, (e) => offset(e, standardise(e, s))),
    NDENSE,
    { ...fit, groups },
  );
  const choiceBias = main.bias[groups - 1] ?? 0;
  // The free-form intercept the fit finds is GSM8K's: in the dev data free form means math word problem.
  // Shipped instead: a free-form prompt whose type term is the multiple-choice average scores like the
  // multiple-choice average, so only the type term lifts free-form prompts (math, code) above others and a
  // greeting is not scored like a word problem. Within each structure, rankings are unchanged.
  const choiceType = type ? mean(examples.filter((e) => e.choice).map((e) => typeLogit(type, standardise(e, s)))) : 0;
  const fittedBias = main.bias[0] ?? 0;
  const bias = type && examples.some((e) => e.choice) ? choiceBias - choiceType : fittedBias;
  const predict = (e: Example): number => {
    const d = standardise(e, s);
    let z = (e.choice ? choiceBias : bias) + offset(e, d);
    for (let j = 0; j < NDENSE; j++) z += (main.dense[j] ?? 0) * (d[j] ?? 0);
    for (let k = 0; k < e.gramIdx.length; k++) z += (main.grams[e.gramIdx[k] ?? 0] ?? 0) * (e.gramVal[k] ?? 0);
    return 1 / (1 + Math.exp(-z));
  };
  const free = type ?? new Float64Array(NDENSE);
  return { s, model: { dense: main.dense, free, grams: main.grams }, bias, choiceBias, predict };
}

const items = (xs: readonly Example[], scores: readonly number[]): EvalItem[] =>
  xs.map((e, i) => ({ score: scores[i] ?? 0, weak: e.row.weak?.quality ?? 0, strong: e.row.strong?.quality ?? 0 }));

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '  -  ');
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');

function line(name: string, xs: readonly Example[], scores: readonly number[]): string {
  const r = report(items(xs, scores));
  return `${name.padEnd(28)} n=${String(r.n).padStart(4)}  APGR ${fmt(r.apgr)}  CPT(50%) ${pct(r.cpt50).padStart(6)}  CPT(80%) ${pct(r.cpt80).padStart(6)}`;
}

function crossValidate(all: readonly Example[], k: number, seed: number): void {
  const rand = rng(seed);
  const subjects = shuffle([...new Set(all.filter((e) => e.set === 'mmlu').map((e) => e.group))].sort(), rand);
  const foldOf = new Map<Example, number>();
  subjects.forEach((subj, i) => all.filter((e) => e.group === subj).forEach((e) => foldOf.set(e, i % k)));
  for (const set of [...new Set(all.map((e) => e.set))].sort()) {
    if (set === 'mmlu') continue;
    shuffle(
      all.filter((e) => e.set === set),
      rand,
    ).forEach((e, i) => foldOf.set(e, i % k));
  }
  const oof = new Map<Example, number>();
  console.log(`\ncross-validation: ${k} folds, whole MMLU subjects held out, other sets split at random`);
  for (let f = 0; f < k; f++) {
    const test = all.filter((e) => foldOf.get(e) === f);
    const { predict } = train(all.filter((e) => foldOf.get(e) !== f));
    for (const e of test) oof.set(e, predict(e));
    for (const set of [...new Set(test.map((e) => e.set))].sort()) {
      const xs = test.filter((e) => e.set === set);
      const held = set === 'mmlu' ? ` (${new Set(xs.map((e) => e.group)).size} subjects)` : '';
      console.log(line(`  fold ${f + 1} ${set}${held}`, xs, xs.map(predict)));
    }
  }
  console.log('pooled out-of-fold:');
  for (const set of [...new Set(all.map((e) => e.set))].sort()) {
    const xs = all.filter((e) => e.set === set);
    console.log(
      line(
        `  ${set}`,
        xs,
        xs.map((e) => oof.get(e) ?? 0),
      ),
    );
  }
  console.log(
    line(
      '  all',
      all,
      all.map((e) => oof.get(e) ?? 0),
    ),
  );
  if (args.oof) {
    // Held-out scores for `modelroute eval --scores`: every prompt scored by a model that never saw it.
    const lines = all.map((e) => JSON.stringify({ id: e.row.id, score: round(oof.get(e) ?? 0, 6) }));
    writeFileSync(args.oof, lines.join('\n') + '\n');
    console.log(`wrote out-of-fold scores to ${args.oof}`);
  }
}

function transfer(all: readonly Example[]): void {
  console.log('\ncross-set transfer (train on one set, score the other: a proxy for unseen prompt types):');
  const sets = [...new Set(all.map((e) => e.set))].sort();
  for (const a of sets) {
    for (const b of sets) {
      if (a === b) continue;
      const { predict } = train(all.filter((e) => e.set === a));
      const xs = all.filter((e) => e.set === b);
      console.log(line(`  ${a} -> ${b}`, xs, xs.map(predict)));
    }
  }
}

/** How far the scan-based token estimate (features.ts TOKEN_COEF) is from exact o200k on these prompts. */
function checkTokenEstimate(all: readonly Example[]): void {
  const keys = Object.keys(TOKEN_COEF) as (keyof typeof TOKEN_COEF)[];
  let err = 0;
  for (const e of all) {
    const text = e.row.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
    const c = tokenCounts(text);
    const exact = countTokens(text);
    const est = keys.reduce((s, k) => s + TOKEN_COEF[k] * c[k], 0);
    err += Math.abs(est - exact) / Math.max(1, exact);
  }
  console.log(`token estimate vs exact o200k: mean absolute error ${((100 * err) / all.length).toFixed(1)}%`);
}

function main(): void {
  const seed = Number(args.seed);
  const t0 = Date.now();
  const all = load(args.data);
  console.log(`loaded ${all.length} labelled prompts from ${args.data} (label: ${args.label})`);
  checkTokenEstimate(all);
  crossValidate(all, Number(args.folds), seed);
  transfer(all);

  const { s, model, bias, choiceBias, predict } = train(all);
  const scores = all.map(predict);
  console.log('\nfinal model on its own training data (optimistic):');
  for (const set of [...new Set(all.map((e) => e.set))].sort()) {
    const xs = all.filter((e) => e.set === set);
    console.log(line(`  ${set}`, xs, xs.map(predict)));
  }
  // Re-centre the logit on the training mix (median -> 0.5, deciles -> about 0.1 and 0.9) so route
  // thresholds (`upTo`) read like shares; the map is strictly monotone, so rankings do not change.
  const logits = scores.map((p) => Math.log(p / (1 - p))).sort((a, b) => a - b);
  const q = (f: number): number => logits[Math.round(f * (logits.length - 1))] ?? 0;
  const center = round(q(0.5), 6);
  const spread = round((q(0.9) - q(0.1)) / (2 * Math.log(9)), 6);
  const prior = Array.from({ length: 101 }, (_, i) => round(1 / (1 + Math.exp(-(q(i / 100) - center) / spread)), 6));
  const index: number[] = [];
  const weight: number[] = [];
  model.grams.forEach((w, i) => {
    const r = round(w, 4);
    if (r !== 0) {
      index.push(i);
      weight.push(r);
    }
  });
  const weights: ModelWeights = {
    version: 2,
    buckets: BUCKETS,
    bias: round(bias, 6),
    choiceBias: round(choiceBias, 6),
    center,
    spread,
    dense: {
      names: [...DENSE_NAMES],
      lo: s.lo.map((x) => round(x, 6)),
      hi: s.hi.map((x) => round(x, 6)),
      mean: s.mean.map((x) => round(x, 6)),
      std: s.std.map((x) => round(x, 6)),
      weight: Array.from(model.dense, (x) => round(x, 6)),
      free: Array.from(model.free, (x) => round(x, 6)),
    },
    grams: { index, weight },
    prior,
    meta: {
      label: args.label === 'weak-fails' ? '1 - weak.quality' : '(strong.quality - weak.quality + 1) / 2',
      data: path.basename(args.data),
      rows: all.length,
      seed,
      mode: args.mode,
      weigh: args.weigh,
      typeSigns: !args['no-signs'],
      fit,
    },
  };
  const json = JSON.stringify(weights) + '\n';
  console.log(
    `\n${index.length} non-zero gram weights, ${(json.length / 1024).toFixed(0)} KiB, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (!args['no-write']) {
    writeFileSync(args.out, json);
    console.log(`wrote ${path.relative(process.cwd(), args.out)}`);
  }
}

main();
