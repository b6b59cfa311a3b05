/**
 * The per-request routing decision. Synchronous and pure: everything that changes (scores, calibrated
 * thresholds, spend, randomness) comes in through DecideContext, so the same inputs always give the same
 * Decision and tests need no clock or network. It runs on every call, so it avoids work it does not need:
 * the classifier runs only for complexity routes, and backend lookups use an index built once per table.
 */
import { DEFAULT_OUTPUT_ESTIMATE } from './api/defaults.js';
import {
  RouteError,
  type Decision,
  type DecideContext,
  type RequestFacts,
  type RoutingTable,
  type TableBackend,
} from './api/types.js';

export const TIER_HEADER = 'x-modelroute-tier';
export const BACKEND_HEADER = 'x-modelroute-backend';

const indexes = new WeakMap<RoutingTable, Map<string, TableBackend>>();

function backendsOf(table: RoutingTable): Map<string, TableBackend> {
  let index = indexes.get(table);
  if (!index) {
    index = new Map(table.backends.map((b) => [b.name, b]));
    indexes.set(table, index);
  }
  return index;
}

function backend(table: RoutingTable, name: string): TableBackend {
  const b = backendsOf(table).get(name);
  // validateTable guarantees every reference resolves; reaching this means the table skipped validation.
  if (!b) throw new Error(`routing table ${routeName(table)} names unknown backend '${name}' (not validated?)`);
  return b;
}

function routeName(table: RoutingTable): string {
  return `${table.route.namespace}/${table.route.name}`;
}

/** Whether a backend can take this request: room for input plus requested output, tools if asked. */
export function fits(b: TableBackend, facts: RequestFacts): boolean {
  if (facts.wantsTools && !b.capabilities.tools) return false;
  return b.capabilities.contextWindow >= facts.inputTokens + (facts.maxOutputTokens ?? 0);
}

/** Estimated USD for this request on a backend; only used to compare backends. */
export function estimateCost(b: TableBackend, facts: RequestFacts): number {
  const out = facts.maxOutputTokens ?? DEFAULT_OUTPUT_ESTIMATE;
  return (facts.inputTokens * b.pricing.inputPerMillion + out * b.pricing.outputPerMillion) / 1e6;
}

/**
 * The route serving this call: model listed in match.models and every header match equal. Highest priority wins;
 * ties go to the lexically first namespace/name so every sidecar picks the same one.
 */
export function selectRoute(tables: readonly RoutingTable[], facts: RequestFacts): RoutingTable | undefined {
  let best: RoutingTable | undefined;
  for (const t of tables) {
    if (!t.match.models.includes(facts.model)) continue;
    let ok = true;
    for (const h of t.match.headers) {
      if (facts.header(h.name) !== h.value) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (
      !best ||
      t.match.priority > best.match.priority ||
      (t.match.priority === best.match.priority && before(t, best))
    ) {
      best = t;
    }
  }
  return best;
}

function before(a: RoutingTable, b: RoutingTable): boolean {
  if (a.route.namespace !== b.route.namespace) return a.route.namespace < b.route.namespace;
  return a.route.name < b.route.name;
}

/** Chooses the backend (and its fallbacks) for one request. Throws RouteError for policy refusals. */
export function decide(table: RoutingTable, facts: RequestFacts, ctx: DecideContext): Decision {
  const budget = table.budget;
  const overBudget = budget !== undefined && (ctx.spentUSD?.(table) ?? 0) >= budget.limitUSD;
  if (overBudget && budget.action === 'reject') {
    throw new RouteError(
      'budget_exceeded',
      `route ${routeName(table)} has spent its ${budget.period}ly budget of $${budget.limitUSD}`,
      429,
    );
  }
  const pinnedBackend = facts.header(BACKEND_HEADER);
  const pinnedTier = facts.header(TIER_HEADER);
  if (pinnedBackend !== undefined && !table.overrides.allowBackendHeader) {
    throw new RouteError('override_not_allowed', `route ${routeName(table)} does not allow ${BACKEND_HEADER}`, 403);
  }
  if (pinnedTier !== undefined && !table.overrides.allowTierHeader) {
    throw new RouteError('override_not_allowed', `route ${routeName(table)} does not allow ${TIER_HEADER}`, 403);
  }
  // The budget is the stronger policy: past it, a pinned request is downgraded like any other.
  const partial = overBudget
    ? downgrade(table, facts)
    : pinnedBackend !== undefined
      ? pinBackend(table, pinnedBackend)
      : pinnedTier !== undefined
        ? pinTier(table, pinnedTier)
        : choose(table, facts, ctx);
  const attempts = attemptsFor(table, partial.chosen, facts);
  if (attempts.length === 0) {
    throw new RouteError(
      'no_backend_fits',
      `no backend of route ${routeName(table)} fits ${facts.inputTokens} input tokens` +
        `${facts.maxOutputTokens ? ` + ${facts.maxOutputTokens} output` : ''}${facts.wantsTools ? ' with tools' : ''}`,
      400,
    );
  }
  const d: Decision = { table, attempts, reason: partial.reason };
  if (partial.tier !== undefined) {
    d.tier = partial.tier;
    const effort =
      table.strategy.kind === 'complexity' ? table.strategy.tiers[partial.tier]?.reasoningEffort : undefined;
    if (effort) d.reasoningEffort = effort;
  }
  if (partial.score !== undefined) d.score = partial.score;
  if (partial.top?.length) d.top = partial.top;
  if (budget) d.budget = overBudget ? 'downgraded' : 'ok';
  return d;
}

interface Choice {
  chosen: TableBackend;
  reason: string;
  tier?: number;
  score?: number;
  top?: { feature: string; weight: number }[];
}

function choose(table: RoutingTable, facts: RequestFacts, ctx: DecideContext): Choice {
  const s = table.strategy;
  switch (s.kind) {
    case 'fixed':
      return { chosen: backend(table, s.backend), reason: `fixed: ${s.backend}` };
    case 'weighted': {
      let total = 0;
      for (const w of s.backends) total += w.weight;
      let r = ctx.random() * total;
      let pick = s.backends[s.backends.length - 1]!;
      for (const w of s.backends) {
        if (r < w.weight) {
          pick = w;
          break;
        }
        r -= w.weight;
      }
      return { chosen: backend(table, pick.backend), reason: `weighted: ${pick.backend} (${pick.weight}/${total})` };
    }
    case 'cheapest': {
      const b = cheapestFitting(table, s.backends, facts);
      if (!b) return { chosen: backend(table, s.backends[0]!), reason: 'cheapest: nothing fits' };
      return { chosen: b, reason: `cheapest that fits: ${b.name}` };
    }
    case 'complexity': {
      const { score, top } = ctx.score(facts.messages, ctx.explain?.() ?? false);
      const last = s.tiers.length - 1;
      const calibrated = s.targetShare !== undefined ? ctx.threshold?.(table) : undefined;
      let tier = last;
      for (let i = 0; i < last; i++) {
        const upTo = i === last - 1 && calibrated !== undefined ? calibrated : s.tiers[i]!.upTo;
        if (score <= upTo) {
          tier = i;
          break;
        }
      }
      // A tier that cannot hold the request (context, tools) hands it to the next more capable one.
      let fitTier = tier;
      while (fitTier < last && !fits(backend(table, s.tiers[fitTier]!.backend), facts)) fitTier++;
      const name = s.tiers[fitTier]!.backend;
      const reason =
        fitTier === tier
          ? `complexity: score ${score.toFixed(2)} -> tier ${tier} (${name})`
          : `complexity: score ${score.toFixed(2)} -> tier ${tier}, escalated to tier ${fitTier} (${name}) to fit`;
      return { chosen: backend(table, name), reason, tier: fitTier, score, top };
    }
  }
}

function pinBackend(table: RoutingTable, name: string): Choice {
  const b = backendsOf(table).get(name);
  if (!b)
    throw new RouteError('bad_request', `${BACKEND_HEADER}: route ${routeName(table)} has no backend '${name}'`, 400);
  return { chosen: b, reason: `pinned by ${BACKEND_HEADER}: ${name}` };
}

function pinTier(table: RoutingTable, value: string): Choice {
  const s = table.strategy;
  if (s.kind !== 'complexity') {
    throw new RouteError(
      'bad_request',
      `${TIER_HEADER}: route ${routeName(table)} has no tiers (strategy ${s.kind})`,
      400,
    );
  }
  const tier = /^\d+$/.test(value) ? Number(value) : s.tiers.findIndex((t) => t.backend === value);
  if (tier < 0 || tier >= s.tiers.length) {
    throw new RouteError(
      'bad_request',
      `${TIER_HEADER}: '${value}' is neither a tier index (0-${s.tiers.length - 1}) nor a tier backend of route ${routeName(table)}`,
      400,
    );
  }
  return { chosen: backend(table, s.tiers[tier]!.backend), reason: `pinned by ${TIER_HEADER}: tier ${tier}`, tier };
}

function downgrade(table: RoutingTable, facts: RequestFacts): Choice {
  const s = table.strategy;
  if (s.kind === 'complexity') {
    // Tiers are listed cheapest first; take the first that can hold the request.
    let tier = 0;
    while (tier < s.tiers.length - 1 && !fits(backend(table, s.tiers[tier]!.backend), facts)) tier++;
    const name = s.tiers[tier]!.backend;
    return { chosen: backend(table, name), reason: `over budget: downgraded to tier ${tier} (${name})`, tier };
  }
  const names =
    s.kind === 'weighted' ? s.backends.map((w) => w.backend) : s.kind === 'cheapest' ? s.backends : [s.backend];
  const b = cheapestFitting(table, names, facts) ?? backend(table, names[0]!);
  return { chosen: b, reason: `over budget: downgraded to cheapest ${b.name}` };
}

function cheapestFitting(table: RoutingTable, names: readonly string[], facts: RequestFacts): TableBackend | undefined {
  let best: TableBackend | undefined;
  let bestCost = Infinity;
  for (const name of names) {
    const b = backend(table, name);
    if (!fits(b, facts)) continue;
    const cost = estimateCost(b, facts);
    if (cost < bestCost) {
      best = b;
      bestCost = cost;
    }
  }
  return best;
}

function attemptsFor(table: RoutingTable, chosen: TableBackend, facts: RequestFacts): TableBackend[] {
  const out: TableBackend[] = [];
  if (fits(chosen, facts)) out.push(chosen);
  for (const name of chosen.fallbacks.to) {
    const b = backend(table, name);
    if (b !== chosen && !out.includes(b) && fits(b, facts)) out.push(b);
  }
  return out;
}
