/**
 * What `modelroute dev` prints at start: where it listens, which route each model name reaches (and which
 * routes lose a name to another), every route's backends (real or simulated, and why), and calls to paste.
 */
import type { RoutingTable } from '../core/api/types.js';
import type { BackendMode } from './credential-env.js';
import { routeKey } from './route-files.js';

export interface BannerInput {
  baseURL: string;
  adminUrl?: string;
  routesPath: string;
  tables: ReadonlyArray<RoutingTable>;
  sources: ReadonlyMap<string, string>;
  planOf(table: RoutingTable): { backend: RoutingTable['backends'][number]; mode: BackendMode }[];
}

/** Route order of selectRoute: priority high to low, then namespace/name. */
function byPrecedence(a: RoutingTable, b: RoutingTable): number {
  return b.match.priority - a.match.priority || (routeKey(a) < routeKey(b) ? -1 : routeKey(a) > routeKey(b) ? 1 : 0);
}

const headersText = (t: RoutingTable) => t.match.headers.map((h) => `${h.name}: ${h.value}`).join(', ');

/** For each model name, who answers it: one line per route that can win, plus the routes that never do. */
export function modelWinners(tables: ReadonlyArray<RoutingTable>): { lines: string[]; shadowed: string[] } {
  const models = [...new Set(tables.flatMap((t) => t.match.models))].sort();
  const lines: string[] = [];
  const wins = new Set<string>();
  for (const model of models) {
    const candidates = tables.filter((t) => t.match.models.includes(model)).sort(byPrecedence);
    // Routes are tried in precedence order; a route without header conditions catches everything after it.
    const catchAll = candidates.find((t) => t.match.headers.length === 0);
    for (const t of candidates) {
      wins.add(routeKey(t));
      if (t !== catchAll) {
        lines.push(`  ${model} with header ${headersText(t)} -> ${t.route.name} (priority ${t.match.priority})`);
        continue;
      }
      const losers = candidates.slice(candidates.indexOf(t) + 1).map((l) => {
        const why =
          l.match.priority < t.match.priority ? `priority ${l.match.priority}` : 'same priority, later by name';
        return `${l.route.name} (${why})`;
      });
      const also = losers.length > 0 ? `; also listed by ${losers.join(', ')}` : '';
      lines.push(`  ${model} -> ${t.route.name} (priority ${t.match.priority}${also})`);
      break;
    }
  }
  const shadowed = tables.filter((t) => !wins.has(routeKey(t))).map((t) => t.route.name);
  return { lines, shadowed };
}

export function describeRoute(
  t: RoutingTable,
  source: string | undefined,
  plan: ReturnType<BannerInput['planOf']>,
): string[] {
  const s = t.strategy;
  const out = [
    `  ${t.route.name}  [${s.kind}]  models ${t.match.models.join(', ')}${t.match.headers.length ? ` when ${headersText(t)}` : ''}${source ? `  (${source})` : ''}`,
  ];
  const label = new Map<string, string>();
  if (s.kind === 'complexity') {
    s.tiers.forEach((tier, i) =>
      label.set(
        tier.backend,
        `tier ${i}${i < s.tiers.length - 1 ? ` (score <= ${tier.upTo})` : ' (the rest)'}${tier.reasoningEffort ? ` effort ${tier.reasoningEffort}` : ''}`,
      ),
    );
  } else if (s.kind === 'weighted') {
    const total = s.backends.reduce((n, w) => n + w.weight, 0);
    for (const w of s.backends) label.set(w.backend, `weight ${w.weight}/${total}`);
  } else if (s.kind === 'fixed') label.set(s.backend, 'fixed');
  for (const { backend: b, mode } of plan) {
    const fallback = b.fallbacks.to.length ? `, falls back to ${b.fallbacks.to.join(', ')}` : '';
    out.push(
      `    ${(label.get(b.name) ?? (s.kind === 'cheapest' ? 'candidate' : 'fallback only')).padEnd(34)} ${b.name} -> ${b.model}  ${mode.mode.toUpperCase()} (${mode.why})${fallback}`,
    );
  }
  return out;
}

export function banner(b: BannerInput): string {
  const lines = [
    `modelroute dev: OpenAI-compatible API on ${b.baseURL}${b.adminUrl ? ` (admin ${b.adminUrl}: /readyz, /metrics, /debug/tables)` : ''}`,
    `routes from ${b.routesPath} (edit, add or delete files: changes apply at once)`,
    '',
  ];
  if (b.tables.length === 0) {
    lines.push('no valid route is loaded: fix the errors above, or point --routes at a directory of ModelRoute files');
    return lines.join('\n');
  }
  const sorted = [...b.tables].sort(byPrecedence);
  lines.push('routes (real: called for real; simulated: answered by the built-in simulator):');
  for (const t of sorted) lines.push(...describeRoute(t, b.sources.get(routeKey(t)), b.planOf(t)));
  const { lines: models, shadowed } = modelWinners(b.tables);
  lines.push('', 'model names (GET /v1/models lists them):', ...models);
  for (const name of shadowed) {
    lines.push(`  warning: route ${name} never receives a call: a route listed above wins each of its model names`);
  }
  const model = b.tables.some((t) => t.match.models.includes('auto'))
    ? 'auto'
    : (b.tables[0]!.match.models[0] ?? 'auto');
  const prompt = 'Explain in one paragraph why the sky is blue.';
  lines.push(
    '',
    'try it:',
    `  curl -sS -i ${b.baseURL}/chat/completions -H 'content-type: application/json' \\`,
    `    -d '{"model": "${model}", "messages": [{"role": "user", "content": "${prompt}"}]}'`,
    `  python3 -c 'from openai import OpenAI; c = OpenAI(base_url="${b.baseURL}", api_key="local"); print(c.chat.completions.create(model="${model}", messages=[{"role": "user", "content": "${prompt}"}]).choices[0].message.content)'`,
    `  node --input-type=module -e 'import OpenAI from "openai"; const c = new OpenAI({ baseURL: "${b.baseURL}", apiKey: "local" }); const r = await c.chat.completions.create({ model: "${model}", messages: [{ role: "user", content: "${prompt}" }], stream: true }); for await (const x of r) process.stdout.write(x.choices[0]?.delta?.content ?? "")'`,
    `  existing apps: export OPENAI_BASE_URL=${b.baseURL} (any API key is accepted)`,
    '',
    'each answer logs route, backend, tier, score and why; the x-modelroute-* response headers say the same',
  );
  return lines.join('\n');
}
