/**
 * The shape every benchmark section reports in, and the markdown table built from it. A figure carries its
 * baseline from the same run, so the ratio holds on any machine even when the absolute number does not.
 */

export interface Figure {
  /** What was measured, e.g. "added latency p99, 500 rps, non-streaming". */
  name: string;
  value: number;
  unit: string;
  /** The same quantity for the baseline path, measured in the same run. */
  baseline?: { name: string; value: number };
  /** value / baseline.value, when a baseline exists and is non-zero. */
  ratio?: number;
  /** The goal, as text ("< 1 ms", "<= 1.5x minimal"). */
  target?: string;
  /** Whether the target was met; undefined when no target applies or in --smoke (not asserted). */
  met?: boolean;
}

export type SectionStatus = 'ok' | 'error' | 'timeout' | 'skipped';

export interface SectionResult {
  section: string;
  title: string;
  status: SectionStatus;
  seconds: number;
  figures: Figure[];
  /** Caveats that a reader needs to trust or discount the figures (load, reduced N, what was left out). */
  notes: string[];
  /** The benchmark's own output, kept for whoever wants more than the table. */
  raw?: unknown;
  error?: string;
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  loadavgAtStart: number[];
  loadavgAtEnd?: number[];
  totalMemMB: number;
  note: string;
}

export interface SuiteReport {
  at: string;
  command: string;
  smoke: boolean;
  machine: Machine;
  seconds: number;
  sections: SectionResult[];
}

const round = (x: number, digits = 3): number => {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** A figure with its ratio computed; `met` is decided by `check` against value and ratio. */
export function figure(
  name: string,
  value: number,
  unit: string,
  opts: {
    baseline?: { name: string; value: number };
    target?: string;
    check?: (value: number, ratio: number | undefined) => boolean;
  } = {},
): Figure {
  const f: Figure = { name, value: round(value), unit };
  if (opts.baseline) {
    f.baseline = { name: opts.baseline.name, value: round(opts.baseline.value) };
    if (opts.baseline.value !== 0 && Number.isFinite(opts.baseline.value))
      f.ratio = Number((value / opts.baseline.value).toPrecision(3));
  }
  if (opts.target) f.target = opts.target;
  if (opts.check && Number.isFinite(value)) f.met = opts.check(value, f.ratio);
  return f;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');
const num = (x: number): string =>
  !Number.isFinite(x) ? String(x) : Math.abs(x) >= 1000 ? String(Math.round(x)) : String(round(x, 3));

export function toMarkdown(r: SuiteReport): string {
  const m = r.machine;
  const lines = [
    `# Benchmark results${r.smoke ? ' (smoke: tiny counts, targets not asserted)' : ''}`,
    '',
    `${r.at} · \`${r.command}\` · ${Math.round(r.seconds)} s`,
    '',
    `Machine: ${m.nproc} x ${m.cpuModel}, ${m.totalMemMB} MB, node ${m.node}; load average ${m.loadavgAtStart.join(' ')} at start` +
      `${m.loadavgAtEnd ? `, ${m.loadavgAtEnd.join(' ')} at end` : ''}. ${m.note}`,
    '',
  ];
  for (const s of r.sections) {
    lines.push(`## ${s.title}`, '');
    lines.push(`Status: ${s.status} (${Math.round(s.seconds)} s)${s.error ? `: ${cell(s.error)}` : ''}`, '');
    if (s.figures.length > 0) {
      lines.push('| figure | value | baseline | ratio | target | met? |', '|---|---:|---|---:|---|---|');
      for (const f of s.figures) {
        const base = f.baseline ? `${f.baseline.name}: ${num(f.baseline.value)} ${f.unit}` : '';
        const met = f.met === undefined ? '' : f.met ? 'yes' : '**no**';
        lines.push(
          `| ${cell(f.name)} | ${num(f.value)} ${f.unit} | ${cell(base)} | ${f.ratio === undefined ? '' : `${f.ratio}x`} | ${cell(f.target ?? '')} | ${met} |`,
        );
      }
      lines.push('');
    }
    for (const n of s.notes) lines.push(`- ${n}`);
    if (s.notes.length > 0) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
