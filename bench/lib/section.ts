/**
 * Entry point shared by the section programs (bench/memory.ts, propagation.ts, ...). Each runs alone
 * (`tsx bench/memory.ts [--smoke] [--result FILE]`) or as a child of bench/run.ts, which bounds its time.
 * The body returns a SectionResult; it is printed and written to --result as JSON.
 */
import { writeFileSync } from 'node:fs';
import type { Figure, SectionResult } from './report.js';

export interface SectionContext {
  smoke: boolean;
  /** Value of `--name` from argv, if given. */
  arg(name: string): string | undefined;
  note(text: string): void;
  figures: Figure[];
}

export type SectionBody = (ctx: SectionContext) => Promise<unknown>;

export function argOf(name: string, argv = process.argv): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
}

export async function runSection(section: string, title: string, body: SectionBody): Promise<void> {
  const started = performance.now();
  const ctx: SectionContext = {
    smoke: process.argv.includes('--smoke'),
    arg: (n) => argOf(n),
    note: (t) => void result.notes.push(t),
    figures: [],
  };
  const result: SectionResult = { section, title, status: 'ok', seconds: 0, figures: ctx.figures, notes: [] };
  try {
    result.raw = await body(ctx);
  } catch (err) {
    result.status = 'error';
    result.error = (err as Error).stack ?? String(err);
  }
  result.seconds = Math.round((performance.now() - started) / 100) / 10;
  const out = argOf('result');
  if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  for (const f of result.figures) {
    const base = f.baseline ? `  (${f.baseline.name} ${f.baseline.value}, ${f.ratio ?? '-'}x)` : '';
    console.log(
      `${f.name}: ${f.value} ${f.unit}${base}${f.target ? `  target ${f.target}: ${f.met ? 'met' : 'missed'}` : ''}`,
    );
  }
  for (const n of result.notes) console.log(`note: ${n}`);
  if (result.error) console.error(result.error);
  // Leftover sockets or timers of a failed run must not keep the process (and the suite) waiting.
  process.exit(result.status === 'ok' ? 0 : 1);
}
