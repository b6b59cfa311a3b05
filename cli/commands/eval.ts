/**
 * `modelroute eval --data FILE.jsonl`: the router-eval metrics of the shipped classifier (or of scores from
 * another router) beside the random router and the oracle. Exit 0 on success, 1 on unreadable or invalid
 * data, 2 on usage errors.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { score } from '../../core/classifier/score.js';
import { contentText } from '../../core/classifier/text.js';
import { type EvalItem, type RouterReport, oracleBaseline, randomBaseline, report } from '../../core/eval/metrics.js';
import { type RouterEvalRow, RowError, parseJsonl } from '../../core/eval/router-eval.js';

/** USD per million tokens: Mixtral-8x7B-Instruct (typical hosted price) and gpt-4-1106-preview list price. */
const DEFAULT_PRICES = [0.6, 0.6, 10, 30] as const;

const HELP = `usage: modelroute eval --data FILE.jsonl [--prices WEAK_IN,WEAK_OUT,STRONG_IN,STRONG_OUT] [--scores FILE] [--json]

Scores each labelled prompt of a router-eval file and prints, beside a random router and the oracle:
APGR, CPT(50%), CPT(80%), quality at 20% and 50% strong share, and the cost saved at 95% of the strong
model's quality (definitions: shared/router-eval/README.md; tied scores count as a random order).

  --data FILE     router-eval JSONL with weak/strong quality labels ('-' = stdin)
  --prices LIST   USD per million tokens, default ${DEFAULT_PRICES.join(',')}
                  (input tokens: o200k count of the messages; output tokens: of each model's
                  "response" when present, else 0)
  --scores FILE   {"id","score"} lines from another router (e.g. modelroute score) instead of the
                  shipped classifier
  --json          print the figures as JSON

Exit status: 0 ok, 1 unreadable or invalid data, 2 usage error.`;

async function readText(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function toItems(rows: RouterEvalRow[], scores: Map<string, number> | undefined, prices: number[]): EvalItem[] {
  const [wIn = 0, wOut = 0, sIn = 0, sOut = 0] = prices;
  return rows.map((row) => {
    if (!row.weak || !row.strong) throw new RowError(`prompt ${row.id}: no weak/strong quality labels`);
    const s = scores ? scores.get(row.id) : score(row.messages).score;
    if (s === undefined) throw new RowError(`prompt ${row.id}: no score in --scores`);
    const input = row.messages.reduce((n, m) => n + countTokens(contentText(m.content)), 0);
    const out = (r?: string): number => (r ? countTokens(r) : 0);
    return {
      score: s,
      weak: row.weak.quality,
      strong: row.strong.quality,
      costWeak: (input * wIn + out(row.weak.response) * wOut) / 1e6,
      costStrong: (input * sIn + out(row.strong.response) * sOut) / 1e6,
    };
  });
}

function table(rows: [string, RouterReport][]): string {
  const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '-');
  const num = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
  const lines: [string, (r: RouterReport) => string][] = [
    ['APGR', (r) => num(r.apgr)],
    ['CPT(50%)', (r) => pct(r.cpt50)],
    ['CPT(80%)', (r) => pct(r.cpt80)],
    ['quality at 20% strong', (r) => num(r.qualityAt20)],
    ['quality at 50% strong', (r) => num(r.qualityAt50)],
    ['cost saved at 95% quality', (r) => `${pct(r.costSaved95)} (${pct(r.share95)} strong)`],
  ];
  const head = `${''.padEnd(26)}${rows.map(([n]) => n.padStart(22)).join('')}`;
  return [
    head,
    ...lines.map(([label, f]) => `${label.padEnd(26)}${rows.map(([, r]) => f(r).padStart(22)).join('')}`),
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let opts: { data: string; prices: number[]; scores?: string; json: boolean };
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        prices: { type: 'string' },
        scores: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.data) throw new Error('--data is required');
    const prices = values.prices ? values.prices.split(',').map(Number) : [...DEFAULT_PRICES];
    if (prices.length !== 4 || prices.some((p) => !Number.isFinite(p) || p < 0)) {
      throw new Error('--prices takes four non-negative numbers: weak_in,weak_out,strong_in,strong_out');
    }
    opts = {
      data: values.data,
      prices,
      json: values.json ?? false,
      ...(values.scores ? { scores: values.scores } : {}),
    };
  } catch (err) {
    console.error(`modelroute eval: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  let items: EvalItem[];
  try {
    const rows = parseJsonl(await readText(opts.data));
    if (rows.length === 0) throw new RowError(`${opts.data}: no prompts`);
    const scores = opts.scores ? parseScores(await readText(opts.scores)) : undefined;
    items = toItems(rows, scores, opts.prices);
  } catch (err) {
    console.error(`modelroute eval: ${(err as Error).message}`);
    return 1;
  }
  const results: [string, RouterReport][] = [
    ['classifier', report(items)],
    ['random', report(randomBaseline(items))],
    ['oracle', report(oracleBaseline(items))],
  ];
  const first = results[0]![1];
  if (opts.json) {
    console.log(JSON.stringify({ data: opts.data, prices: opts.prices, ...Object.fromEntries(results) }, null, 2));
  } else {
    console.log(
      `${opts.data}: ${first.n} prompts, quality weak ${first.qualityWeak.toFixed(3)}, strong ${first.qualityStrong.toFixed(3)}\n`,
    );
    console.log(table(results));
  }
  return 0;
}

/** {"id","score"} lines, as `modelroute score` writes them. */
function parseScores(text: string): Map<string, number> {
  const scores = new Map<string, number>();
  text.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    let o: { id?: unknown; score?: unknown };
    try {
      o = JSON.parse(l) as typeof o;
    } catch {
      throw new RowError(`--scores line ${i + 1}: not JSON`);
    }
    if ((typeof o.id !== 'string' && typeof o.id !== 'number') || typeof o.score !== 'number') {
      throw new RowError(`--scores line ${i + 1}: needs "id" and a numeric "score"`);
    }
    scores.set(String(o.id), o.score);
  });
  return scores;
}
