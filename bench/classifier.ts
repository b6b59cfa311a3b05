/**
 * `npx tsx bench/classifier.ts [--data DIR] [--quick]`
 *
 * 1. Latency of score(): p50/p99 microseconds for 50-token, 2,000-token and 32,000-token conversations and a
 *    1 MB prompt. Each size rotates through many distinct conversations built from router-eval prompts, so
 *    the tokenizer's merge cache does not flatter the figures.
 * 2. Calibration: a `targetShare` threshold on a stream whose mix shifts (shuffled MMLU, then GSM8K-heavy);
 *    the top-tier share per block, with the calibrated threshold beside a fixed threshold from the prior.
 *
 * Prints a table and writes bench/results/classifier.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ShareCalibrator } from '../core/classifier/calibrate.js';
import { score, shippedWeights } from '../core/classifier/score.js';
import type { ChatMessage } from '../core/classifier/text.js';
import { type RouterEvalRow, parseJsonl } from '../core/eval/router-eval.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.resolve(here, '../../shared/router-eval/dev') },
    quick: { type: 'boolean', default: false },
  },
});

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const load = (file: string): RouterEvalRow[] => parseJsonl(readFileSync(path.join(args.data, file), 'utf8'));
const mmlu = load('mmlu.jsonl');
const gsm8k = load('gsm8k.jsonl');
const texts = [...mmlu, ...gsm8k].map((r) => String(r.messages[0]?.content ?? ''));
const rand = rng(1);
const pick = (): string => texts[Math.floor(rand() * texts.length)] ?? '';

/** Text of about `chars` characters from random dev prompts. */
function textOf(chars: number): string {
  let s = '';
  while (s.length < chars) s += pick() + '\n\n';
  return s.slice(0, chars);
}

/** A conversation of about `tokens` tokens (4 chars each) over `turns` user/assistant pairs. */
function conversation(tokens: number, turns: number): ChatMessage[] {
  const per = Math.floor((tokens * 4) / (turns * 2 - 1));
  const msgs: ChatMessage[] = [{ role: 'system', content: 'You are a helpful assistant.' }];
  for (let t = 0; t < turns; t++) {
    msgs.push({ role: 'user', content: textOf(per) });
    if (t < turns - 1) msgs.push({ role: 'assistant', content: textOf(per) });
  }
  return msgs;
}

interface Latency {
  case: string;
  iterations: number;
  p50us: number;
  p99us: number;
  maxus: number;
  /** Mean CPU time per call (user + system): unlike wall time, not inflated when other processes hold the cores. */
  cpuUs: number;
}

function measure(name: string, variants: ChatMessage[][], iterations: number): Latency {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 2000); i++) sink += score(variants[i % variants.length] ?? []).score;
  const times = new Float64Array(iterations);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const m = variants[i % variants.length] ?? [];
    const t0 = process.hrtime.bigint();
    sink += score(m).score;
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const cpu = process.cpuUsage(cpu0);
  if (Number.isNaN(sink)) throw new Error('NaN score');
  times.sort();
  const q = (p: number): number =>
    Number((times[Math.min(iterations - 1, Math.floor(p * iterations))] ?? 0).toFixed(1));
  const cpuUs = Number(((cpu.user + cpu.system) / iterations).toFixed(1));
  return { case: name, iterations, p50us: q(0.5), p99us: q(0.99), maxus: q(1), cpuUs };
}

const scale = args.quick ? 0.1 : 1;
const n = (x: number): number => Math.max(100, Math.round(x * scale));
const latency = [
  measure(
    '50-token prompt',
    Array.from({ length: 500 }, () => [{ role: 'user', content: textOf(200) }]),
    n(50_000),
  ),
  measure(
    '2,000-token conversation (3 turns)',
    Array.from({ length: 200 }, () => conversation(2000, 3)),
    n(20_000),
  ),
  measure(
    '32,000-token conversation (8 turns)',
    Array.from({ length: 50 }, () => conversation(32_000, 8)),
    n(5_000),
  ),
  measure(
    '1 MB prompt',
    Array.from({ length: 8 }, () => [{ role: 'user', content: textOf(1_000_000) }]),
    n(2_000),
  ),
];

const loadavg = os.loadavg().map((l) => l.toFixed(1));
console.log(
  `score() latency (${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}, load ${loadavg.join(' ')})`,
);
console.log(
  `${'case'.padEnd(38)} ${'iterations'.padStart(10)} ${'p50 us'.padStart(8)} ${'p99 us'.padStart(8)} ${'max us'.padStart(8)} ${'cpu us'.padStart(8)}`,
);
for (const l of latency) {
  console.log(
    `${l.case.padEnd(38)} ${String(l.iterations).padStart(10)} ${l.p50us.toFixed(1).padStart(8)} ${l.p99us.toFixed(1).padStart(8)} ${l.maxus.toFixed(1).padStart(8)} ${l.cpuUs.toFixed(1).padStart(8)}`,
  );
}

// Calibration on a drifting mix: MMLU only, then 80% GSM8K (which the model scores higher on average).
const TARGET = 0.2;
const BLOCK = 500;
const shuffled = <T>(xs: T[]): T[] => {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
};
const phase1 = shuffled(mmlu).slice(0, 3000);
const mm = shuffled(mmlu);
const gs = shuffled(gsm8k);
const phase2 = Array.from(
  { length: 3000 },
  (_, i) => (rand() < 0.8 ? gs[i % gs.length] : mm[i % mm.length]) as RouterEvalRow,
);
const stream = [...phase1, ...phase2].map((r) => score(r.messages).score);

const calibrator = new ShareCalibrator({ prior: shippedWeights.prior, window: 1000 });
const fixed = calibrator.threshold(TARGET);
const blocks: { block: number; mix: string; calibratedShare: number; fixedShare: number; threshold: number }[] = [];
let top = 0;
let topFixed = 0;
stream.forEach((s, i) => {
  if (s > calibrator.threshold(TARGET)) top++;
  if (s > fixed) topFixed++;
  calibrator.observe(s);
  if ((i + 1) % BLOCK === 0) {
    blocks.push({
      block: blocks.length + 1,
      mix: i < phase1.length ? 'mmlu' : '80% gsm8k',
      calibratedShare: Number((top / BLOCK).toFixed(3)),
      fixedShare: Number((topFixed / BLOCK).toFixed(3)),
      threshold: Number(calibrator.threshold(TARGET).toFixed(4)),
    });
    top = 0;
    topFixed = 0;
  }
});

console.log(
  `\ncalibration: targetShare ${TARGET}, window 1000, blocks of ${BLOCK} prompts (prior threshold ${fixed.toFixed(4)})`,
);
console.log(
  `${'block'.padEnd(6)} ${'mix'.padEnd(10)} ${'calibrated'.padStart(10)} ${'fixed'.padStart(7)} ${'threshold'.padStart(10)}`,
);
for (const b of blocks) {
  console.log(
    `${String(b.block).padEnd(6)} ${b.mix.padEnd(10)} ${b.calibratedShare.toFixed(3).padStart(10)} ${b.fixedShare.toFixed(3).padStart(7)} ${b.threshold.toFixed(4).padStart(10)}`,
  );
}

const out = path.resolve(here, 'results/classifier.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      node: process.version,
      cpu: os.cpus()[0]?.model,
      latency,
      calibration: { targetShare: TARGET, window: 1000, blockSize: BLOCK, priorThreshold: fixed, blocks },
    },
    null,
    2,
  ) + '\n',
);
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
