/**
 * The human-readable table of `modelroute simulate` (the JSON form is the SimulateReport itself).
 */
import type { SimulateReport } from './simulate.js';

export function usd(v: number): string {
  if (v === 0) return '$0';
  return Math.abs(v) >= 1 ? `$${v.toFixed(3)}` : `$${v.toFixed(4)}`;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function table(rows: string[][], rightFrom: number): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c >= rightFrom ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatReport(r: SimulateReport, o: { prompts: string; outputTokens: number }): string {
  const lines: string[] = [];
  const labelled = r.quality !== undefined;
  lines.push(`route ${r.route} (${r.strategy}) on ${r.requests} prompts from ${o.prompts}`);
  if (r.topThreshold) {
    const how =
      r.topThreshold.from === 'targetShare' ? 'calibrated to targetShare on these prompts' : 'from the route (upTo)';
    lines.push(`top tier takes scores above ${r.topThreshold.value.toFixed(3)} (${how})`);
  }
  lines.push('');
  const tiered = r.backends.some((b) => b.tier !== undefined);
  const header = [
    ...(tiered ? ['tier'] : []),
    'backend',
    'model',
    'requests',
    'share',
    'in tok/req',
    'out tok/req',
    'cost/1k req',
    ...(labelled ? ['quality'] : []),
  ];
  const rows = [header];
  const answered = r.backends.reduce((n, b) => n + b.requests, 0);
  for (const b of r.backends) {
    rows.push([
      ...(tiered ? [b.tier !== undefined ? String(b.tier) : '-'] : []),
      b.backend,
      b.model,
      String(b.requests),
      pct(b.share),
      b.inputTokens.toFixed(0),
      b.outputTokens.toFixed(0),
      // Each backend's part of the routed cost per 1,000 requests, so the column sums to the total.
      usd(answered > 0 ? (b.costUSD / answered) * 1000 : 0),
      ...(labelled ? [b.quality !== undefined ? b.quality.toFixed(3) : '-'] : []),
    ]);
  }
  const blank = tiered ? [''] : [];
  rows.push([
    ...blank,
    'routed',
    '',
    String(answered),
    pct(answered > 0 ? 1 : 0),
    '',
    '',
    usd(r.cost.routedPer1k),
    ...(labelled ? [r.quality!.routed.toFixed(3)] : []),
  ]);
  rows.push([
    ...blank,
    `always ${r.top.backend}`,
    r.top.model,
    '',
    '',
    '',
    '',
    usd(r.cost.topPer1k),
    ...(labelled ? [r.quality!.top.toFixed(3)] : []),
  ]);
  lines.push(...table(rows, tiered ? 3 : 2));
  lines.push('');
  const saved =
    r.cost.savedPer1k >= 0
      ? `saves ${usd(r.cost.savedPer1k)} per 1,000 requests (${pct(r.cost.savedShare)} less)`
      : `costs ${usd(-r.cost.savedPer1k)} more per 1,000 requests (${pct(-r.cost.savedShare)} more)`;
  lines.push(`cost: routing ${saved} than always using ${r.top.backend}`);
  if (r.quality) {
    const gap =
      r.quality.gapRecovered !== undefined
        ? `, ${pct(r.quality.gapRecovered)} of the gap between weak (${r.quality.weak.toFixed(3)}) and strong recovered`
        : '';
    lines.push(
      `quality: ${pct(r.quality.keptShare)} of always-${r.top.backend} on ${r.quality.labelled} labelled prompts${gap}`,
    );
    lines.push(`  (requests sent to ${r.top.backend} score its 'strong' label, all others its 'weak' label)`);
  } else {
    lines.push('quality: no weak/strong labels in the prompts file (router-eval format), so none estimated');
  }
  lines.push(
    `output tokens: ${r.outputTokensFrom.responses} from router-eval responses, ${r.outputTokensFrom.estimate} estimated at --output-tokens ${o.outputTokens}`,
  );
  const refused = Object.entries(r.refused);
  if (refused.length > 0)
    lines.push(`refused (not counted above): ${refused.map(([code, n]) => `${n} ${code}`).join(', ')}`);
  if (r.budgetIgnored) lines.push('note: the route has a budget; its downgrades are not simulated (spend starts at 0)');
  return lines.join('\n');
}
