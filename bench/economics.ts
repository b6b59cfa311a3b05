/**
 * Router economics (a program, not a test): `modelroute eval --json` on each router-eval dev set, the
 * shipped classifier beside the random router (the baseline) and the oracle (the ceiling).
 *
 * Usage: tsx bench/economics.ts [--smoke] [--data DIR] [--result FILE]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEV_DATA } from './lib/conversations.js';
import { figure } from './lib/report.js';
import { runSection } from './lib/section.js';

interface Report {
  n: number;
  apgr: number;
  cpt50: number;
  costSaved95: number;
  share95: number;
}
type EvalJson = Record<'classifier' | 'random' | 'oracle', Report>;

const root = new URL('../', import.meta.url).pathname;

await runSection('economics', '7. Router economics (modelroute eval on the dev sets)', async (ctx) => {
  const dir = ctx.arg('data') ?? DEV_DATA;
  const sets = ['gsm8k', 'mmlu'].filter((s) => existsSync(path.join(dir, `${s}.jsonl`)));
  if (sets.length === 0) {
    ctx.note(`no router-eval dev sets in ${dir}: nothing to evaluate (pass --data DIR).`);
    return {};
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-economics-'));
  const raw: Record<string, EvalJson> = {};
  try {
    for (const set of sets) {
      let file = path.join(dir, `${set}.jsonl`);
      if (ctx.smoke) {
        // The first 300 prompts: enough for every metric to be defined.
        const head = readFileSync(file, 'utf8').split('\n').slice(0, 300).join('\n');
        file = path.join(tmp, `${set}.jsonl`);
        writeFileSync(file, `${head}\n`);
      }
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'cli/main.ts', 'eval', '--data', file, '--json'],
        { cwd: root, maxBuffer: 16 << 20 },
      );
      const r = JSON.parse(stdout) as EvalJson;
      raw[set] = r;
      const c = r.classifier;
      const base = (v: number) => ({ name: 'random router', value: v });
      ctx.figures.push(figure(`${set} (${c.n} prompts): APGR`, c.apgr, '', { baseline: base(r.random.apgr) }));
      ctx.figures.push(
        figure(`${set}: CPT(50%) (strong-model share for 50% of the quality gap)`, c.cpt50 * 100, '%', {
          baseline: base(r.random.cpt50 * 100),
        }),
      );
      ctx.figures.push(
        figure(
          `${set}: cost saved at 95% quality (strong share ${(c.share95 * 100).toFixed(1)}%)`,
          c.costSaved95 * 100,
          '%',
          {
            baseline: base(r.random.costSaved95 * 100),
          },
        ),
      );
      ctx.figures.push(figure(`${set}: oracle APGR (ceiling)`, r.oracle.apgr, ''));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  ctx.note(
    `Data: ${dir}${ctx.smoke ? ' (first 300 prompts of each set)' : ''}. The shipped weights are trained on these same dev sets (scripts/train-router.ts), so these are in-sample figures; train-router's cross-validated report is the out-of-sample view.`,
  );
  return raw;
});
