/**
 * Decision cost (a program, not a test): what the sidecar spends choosing a backend, per request, in
 * microseconds, for 50-, 2,000- and 32,000-token conversations. Timed in one loop, interleaved, on the same
 * conversations:
 *   - JSON.parse of the request body: the baseline, work any body-reading proxy does (bench/minimal-proxy.ts);
 *   - score(): the classifier alone;
 *   - selectRoute + decide(), fixed strategy (no classifier);
 *   - selectRoute + decide(), complexity strategy (classifier included): the decision on the hot path, as the
 *     sidecar makes it for a request it does not trace;
 *   - the same for a traced request, which also finds the classifier's top features for the span.
 *
 * Usage: tsx bench/decide.ts [--smoke] [--result FILE]
 */
import os from 'node:os';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { compile } from '../core/api/compile.js';
import type { DecideContext, ModelRoute, RequestFacts, RoutingTable } from '../core/api/types.js';
import { classifier, score } from '../core/classifier/score.js';
import { decide, selectRoute } from '../core/decide.js';
import { conversationSource, type Message } from './lib/conversations.js';
import { figure } from './lib/report.js';
import { runSection } from './lib/section.js';

function route(name: string, strategy: ModelRoute['spec']['strategy']): RoutingTable {
  return compile({
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name, namespace: 'bench' },
    spec: {
      match: { models: ['auto'] },
      backends: [
        {
          name: 'fast',
          provider: 'openai-compatible',
          baseURL: 'http://127.0.0.1:1/v1',
          model: 'small',
          pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
          capabilities: { contextWindow: 200_000 },
        },
        {
          name: 'strong',
          provider: 'openai-compatible',
          baseURL: 'http://127.0.0.1:2/v1',
          model: 'large',
          pricing: { inputPerMillion: 1.1, outputPerMillion: 4.4 },
          capabilities: { contextWindow: 200_000 },
        },
      ],
      strategy,
    },
  });
}

const tables = {
  fixed: [route('fixed', { fixed: { backend: 'fast' } })],
  complexity: [
    route('complexity', { complexity: { tiers: [{ backend: 'fast', upTo: 0.55 }, { backend: 'strong' }] } }),
  ],
};
// As in the sidecar: top features only for requests it traces (DecideContext.explain).
const ctx: DecideContext = {
  score: (m, explain) => classifier.score(m as Message[], explain),
  random: Math.random,
};
const traced: DecideContext = { ...ctx, explain: () => true };

interface Case {
  body: string;
  messages: Message[];
  facts: RequestFacts;
}

function cases(variants: Message[][]): Case[] {
  return variants.map((messages) => {
    const body = JSON.stringify({ model: 'auto', messages });
    const facts: RequestFacts = {
      endpoint: 'chat',
      model: 'auto',
      header: () => undefined,
      messages,
      inputTokens: Math.ceil(body.length / 4),
      wantsTools: false,
    };
    return { body, messages, facts };
  });
}

const OPS = {
  'JSON.parse(body)': (c: Case) => (JSON.parse(c.body) as { model: string }).model.length,
  'classifier score()': (c: Case) => score(c.messages).score,
  'decide(), fixed': (c: Case) => decide(selectRoute(tables.fixed, c.facts)!, c.facts, ctx).attempts.length,
  'decide(), complexity (with classifier)': (c: Case) =>
    decide(selectRoute(tables.complexity, c.facts)!, c.facts, ctx).attempts.length,
  'decide(), complexity, traced (with top features)': (c: Case) =>
    decide(selectRoute(tables.complexity, c.facts)!, c.facts, traced).attempts.length,
} as const;
type Op = keyof typeof OPS;

/** Times every op on every iteration, in rotating order, so load on the machine falls on all of them alike. */
function measure(all: Case[], iterations: number): Record<Op, { p50: number; p99: number }> {
  const names = Object.keys(OPS) as Op[];
  const times = Object.fromEntries(names.map((n) => [n, new Float64Array(iterations)])) as Record<Op, Float64Array>;
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 1000); i++) for (const n of names) sink += OPS[n](all[i % all.length]!);
  for (let i = 0; i < iterations; i++) {
    const c = all[i % all.length]!;
    for (let k = 0; k < names.length; k++) {
      const n = names[(i + k) % names.length]!;
      const t0 = process.hrtime.bigint();
      sink += OPS[n](c);
      times[n][i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  }
  if (Number.isNaN(sink)) throw new Error('NaN');
  const q = (a: Float64Array, p: number) => a[Math.min(a.length - 1, Math.floor(p * a.length))]!;
  const out = {} as Record<Op, { p50: number; p99: number }>;
  for (const n of names) {
    const a = times[n].sort();
    out[n] = { p50: q(a, 0.5), p99: q(a, 0.99) };
  }
  return out;
}

await runSection('decision', '2. Decision cost (decide() and classifier)', async (sctx) => {
  const { source, make } = conversationSource();
  const scale = sctx.smoke ? 0.02 : 1;
  const sizes = [
    { label: '50-token', tokens: 50, turns: 1, variants: 500, iterations: 50_000 },
    { label: '2,000-token', tokens: 2000, turns: 3, variants: 200, iterations: 20_000 },
    { label: '32,000-token', tokens: 32_000, turns: 8, variants: 40, iterations: 5_000 },
  ];
  const raw: Record<string, unknown> = {};
  for (const s of sizes) {
    const variants = Array.from({ length: s.variants }, () => make(s.tokens, s.turns));
    const tokens = variants[0]!.reduce((n, m) => n + countTokens(m.content), 0);
    const r = measure(cases(variants), Math.max(200, Math.round(s.iterations * scale)));
    raw[s.label] = { o200kTokensOfFirst: tokens, ...r };
    const base = r['JSON.parse(body)'];
    for (const op of [
      'classifier score()',
      'decide(), fixed',
      'decide(), complexity (with classifier)',
      'decide(), complexity, traced (with top features)',
    ] as const) {
      for (const p of ['p50', 'p99'] as const) {
        const isTarget = op.startsWith('decide(), complexity') && p === 'p99' && s.tokens === 2000 && !sctx.smoke;
        sctx.figures.push(
          figure(`${op} ${p}, ${s.label} (${tokens} o200k tokens)`, r[op][p], 'µs', {
            baseline: { name: 'JSON.parse(body)', value: base[p] },
            ...(isTarget && { target: '< 50 µs', check: (v: number) => v < 50 }),
          }),
        );
      }
    }
  }
  sctx.note(
    `Conversations from ${source}, many variants per size; every op is timed on every iteration in rotating order; wall-clock hrtime, so preemption by other processes on the machine lands in p99.`,
  );
  sctx.note(
    `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}.`,
  );
  return raw;
});
