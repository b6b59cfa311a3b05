/**
 * `modelroute simulate`: a what-if for one route on a file of prompts, before it is applied. Every prompt goes
 * through the same decide() the sidecar runs, with the same classifier; nothing is called. Figures:
 *  - share of requests per tier (complexity) or backend (other strategies);
 *  - estimated cost per 1,000 requests: input tokens counted with the o200k tokenizer (chat framing included),
 *    output tokens from the row's router-eval `response` when it has one, else a fixed estimate;
 *  - with router-eval labels, expected quality: the top tier answers with the `strong` label, every lower
 *    tier with the `weak` one (the labels only know two models).
 * The baseline is always sending every request to the top tier: the last tier of a complexity route, else
 * the most expensive backend the strategy can pick.
 */
import { decide } from '../core/decide.js';
import {
  RouteError,
  type DecideContext,
  type RequestFacts,
  type RoutingTable,
  type TableBackend,
} from '../core/api/types.js';
import type { RouterEvalRow } from '../core/eval/router-eval.js';
import { chatInputTokens, tokenCount } from './sim-text.js';

export interface SimulateOptions {
  score: DecideContext['score'];
  /** Output tokens assumed when a row has no response for the model that would answer it. */
  outputTokens: number;
  /** Seed of the random draws of weighted routes (same seed, same figures). */
  seed?: number;
  /** Called every few hundred rows of each phase (scoring only for complexity routes). */
  onProgress?(phase: 'scoring' | 'routing', done: number, total: number): void;
}

export interface BackendFigures {
  backend: string;
  model: string;
  tier?: number;
  requests: number;
  share: number;
  /** Mean tokens per request. */
  inputTokens: number;
  outputTokens: number;
  /** Total cost of these requests, USD. */
  costUSD: number;
  /** Mean quality of the labelled requests this backend took. */
  quality?: number;
}

export interface SimulateReport {
  route: string;
  strategy: RoutingTable['strategy']['kind'];
  requests: number;
  /** Requests decide() refused (e.g. no backend fits), by error code. */
  refused: Record<string, number>;
  /** Complexity: the score above which the top tier takes a request. */
  topThreshold?: { value: number; from: 'upTo' | 'targetShare' };
  top: { backend: string; model: string };
  backends: BackendFigures[];
  cost: { routedPer1k: number; topPer1k: number; savedPer1k: number; savedShare: number };
  quality?: { labelled: number; routed: number; top: number; weak: number; keptShare: number; gapRecovered?: number };
  outputTokensFrom: { responses: number; estimate: number };
  budgetIgnored: boolean;
}

/** The backend always-top sends everything to. */
export function topBackend(t: RoutingTable): TableBackend {
  const byName = new Map(t.backends.map((b) => [b.name, b]));
  const s = t.strategy;
  if (s.kind === 'complexity') return byName.get(s.tiers[s.tiers.length - 1]!.backend)!;
  const names =
    s.kind === 'weighted' ? s.backends.map((w) => w.backend) : s.kind === 'cheapest' ? s.backends : [s.backend];
  const price = (b: TableBackend) => b.pricing.inputPerMillion + b.pricing.outputPerMillion;
  return names.map((n) => byName.get(n)!).reduce((best, b) => (price(b) > price(best) ? b : best));
}

/** The threshold a targetShare route calibrates to on this traffic: the (1 - share) quantile of its scores. */
export function shareThreshold(scores: readonly number[], share: number): number {
  if (scores.length === 0) return 1;
  const sorted = [...scores].sort((a, b) => a - b);
  // The nearest whole number of prompts to the target stays below (as the sidecar's calibrator converges to).
  const below = Math.round((1 - share) * sorted.length);
  return below <= 0 ? -1 : sorted[Math.min(sorted.length, below) - 1]!;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cost = (b: TableBackend, input: number, output: number) =>
  (input * b.pricing.inputPerMillion + output * b.pricing.outputPerMillion) / 1e6;

export function simulateRoute(t: RoutingTable, rows: readonly RouterEvalRow[], o: SimulateOptions): SimulateReport {
  const s = t.strategy;
  const complexity = s.kind === 'complexity';
  const total = rows.length;
  // Scoring is the slow part: done once per row, with progress, then handed to decide().
  const scores: ReturnType<SimulateOptions['score']>[] = [];
  if (complexity) {
    for (const [i, row] of rows.entries()) {
      scores.push(o.score(row.messages));
      if ((i + 1) % 200 === 0 || i + 1 === total) o.onProgress?.('scoring', i + 1, total);
    }
  }
  let topThreshold: SimulateReport['topThreshold'];
  let calibrated: number | undefined;
  if (s.kind === 'complexity' && s.tiers.length > 1) {
    calibrated =
      s.targetShare !== undefined
        ? shareThreshold(
            scores.map((x) => x.score),
            s.targetShare,
          )
        : undefined;
    topThreshold =
      calibrated !== undefined
        ? { value: calibrated, from: 'targetShare' }
        : { value: s.tiers[s.tiers.length - 2]!.upTo, from: 'upTo' };
  }
  const top = topBackend(t);
  const figures = new Map<string, BackendFigures & { labelled: number; qualitySum: number }>();
  const tierOf = new Map(s.kind === 'complexity' ? s.tiers.map((tier, i) => [tier.backend, i]) : []);
  for (const b of t.backends) {
    const tier = tierOf.get(b.name);
    figures.set(b.name, {
      backend: b.name,
      model: b.model,
      ...(tier !== undefined && { tier }),
      requests: 0,
      share: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUSD: 0,
      labelled: 0,
      qualitySum: 0,
    });
  }
  const refused: Record<string, number> = {};
  const random = mulberry32(o.seed ?? 1);
  let topCost = 0;
  let fromResponses = 0;
  const q = { labelled: 0, routed: 0, top: 0, weak: 0 };
  rows.forEach((row, i) => {
    const input = chatInputTokens(row.messages);
    const facts: RequestFacts = {
      endpoint: 'chat',
      model: t.match.models[0]!,
      header: () => undefined,
      messages: row.messages,
      inputTokens: input,
      wantsTools: false,
    };
    let chosen: TableBackend;
    try {
      chosen = decide(t, facts, {
        score: () => scores[i]!,
        random,
        ...(calibrated !== undefined && { threshold: () => calibrated }),
      }).attempts[0]!;
    } catch (err) {
      if (!(err instanceof RouteError)) throw err;
      refused[err.code] = (refused[err.code] ?? 0) + 1;
      return;
    }
    const isTop = chosen.name === top.name;
    const side = isTop ? row.strong : row.weak;
    const output = side?.response !== undefined ? tokenCount(side.response) : o.outputTokens;
    if (side?.response !== undefined) fromResponses++;
    const f = figures.get(chosen.name)!;
    f.requests++;
    f.inputTokens += input;
    f.outputTokens += output;
    f.costUSD += cost(chosen, input, output);
    topCost += cost(top, input, row.strong?.response !== undefined ? tokenCount(row.strong.response) : o.outputTokens);
    if (row.weak && row.strong) {
      const quality = isTop ? row.strong.quality : row.weak.quality;
      f.labelled++;
      f.qualitySum += quality;
      q.labelled++;
      q.routed += quality;
      q.top += row.strong.quality;
      q.weak += row.weak.quality;
    }
    if ((i + 1) % 200 === 0 || i + 1 === total) o.onProgress?.('routing', i + 1, total);
  });
  const answered = [...figures.values()].reduce((n, f) => n + f.requests, 0);
  const routedCost = [...figures.values()].reduce((n, f) => n + f.costUSD, 0);
  const per1k = (usd: number) => (answered > 0 ? (usd / answered) * 1000 : 0);
  const backends = [...figures.values()]
    .filter((f) => f.requests > 0 || f.tier !== undefined || f.backend === top.name)
    .sort((a, b) => (a.tier ?? 99) - (b.tier ?? 99))
    .map(({ labelled, qualitySum, ...f }) => ({
      ...f,
      share: answered > 0 ? f.requests / answered : 0,
      inputTokens: f.requests > 0 ? f.inputTokens / f.requests : 0,
      outputTokens: f.requests > 0 ? f.outputTokens / f.requests : 0,
      ...(labelled > 0 && { quality: qualitySum / labelled }),
    }));
  const report: SimulateReport = {
    route: `${t.route.namespace}/${t.route.name}`,
    strategy: s.kind,
    requests: total,
    refused,
    ...(topThreshold && { topThreshold }),
    top: { backend: top.name, model: top.model },
    backends,
    cost: {
      routedPer1k: per1k(routedCost),
      topPer1k: per1k(topCost),
      savedPer1k: per1k(topCost - routedCost),
      savedShare: topCost > 0 ? (topCost - routedCost) / topCost : 0,
    },
    outputTokensFrom: { responses: fromResponses, estimate: answered - fromResponses },
    budgetIgnored: t.budget !== undefined,
  };
  if (q.labelled > 0) {
    const [routed, topQ, weak] = [q.routed / q.labelled, q.top / q.labelled, q.weak / q.labelled];
    report.quality = {
      labelled: q.labelled,
      routed,
      top: topQ,
      weak,
      keptShare: topQ > 0 ? routed / topQ : 1,
      ...(topQ !== weak && { gapRecovered: (routed - weak) / (topQ - weak) }),
    };
  }
  return report;
}
