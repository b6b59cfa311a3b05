/**
 * `modelroute score`: router-eval JSONL (or plain {"id","messages"} lines) on stdin, one {"id","score"} line
 * out per prompt, in input order. Exit 0 when every line scored, 1 when any line was bad (it is reported on
 * stderr with its line number and skipped), 2 on usage errors.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { score } from '../../core/classifier/score.js';
import { RowError, parseRow } from '../../core/eval/router-eval.js';

const HELP = `usage: modelroute score [--top] < prompts.jsonl > scores.jsonl

Reads router-eval JSONL (or {"id": ..., "messages": [...]} lines) on stdin and writes one
{"id": ..., "score": ...} line per prompt: the probability-like complexity score in [0,1] of the
shipped classifier (higher = more likely to need the strong model).

  --top     also write "top": the five largest contributions to the score

Exit status: 0 all lines scored, 1 some lines were invalid (reported on stderr), 2 usage error.`;

export async function run(argv: string[]): Promise<number> {
  let top = false;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { top: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    top = values.top ?? false;
  } catch (err) {
    console.error(`modelroute score: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  let bad = 0;
  let lineNo = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      const row = parseRow(line, lineNo);
      const r = score(row.messages);
      const out = top ? { id: row.id, score: round(r.score), top: r.top } : { id: row.id, score: round(r.score) };
      if (!process.stdout.write(JSON.stringify(out) + '\n'))
        await new Promise((ok) => process.stdout.once('drain', ok));
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      bad++;
      console.error(`modelroute score: ${err.message}`);
    }
  }
  return bad > 0 ? 1 : 0;
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
