/**
 * `modelroute simulate` figures on a four-prompt labelled file, checked by hand. Scores are injected (the
 * classifier has its own tests), so every number below follows from the fixture alone.
 *
 * Tokens (o200k): "hello", "world", "apple", "house", "user", "yes", "ok" are 1 token each, "yes indeed" 2.
 * Input tokens per prompt, as OpenAI bills a chat: 3 (reply priming) + 3 (message framing) + 1 (role) + 1 = 8.
 * Prices per million tokens: cheap 1 in / 2 out, strong 10 in / 20 out. --output-tokens 100.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseJsonl } from '../../../core/eval/router-eval.js';
import type { RoutingTable } from '../../../core/api/types.js';
import { parseRouteFile } from '../../../local/route-files.js';
import { formatReport } from '../../../local/simulate-report.js';
import { shareThreshold, simulateRoute } from '../../../local/simulate.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/simulate/${name}`, import.meta.url));
const rows = parseJsonl(readFileSync(fixture('labelled.jsonl'), 'utf8'));
const route = parseRouteFile('two-tier.yaml', readFileSync(fixture('two-tier.yaml'), 'utf8')).tables[0]!;

const SCORES: Record<string, number> = { hello: 0.1, world: 0.3, apple: 0.7, house: 0.9 };
const score = (messages: { content: unknown }[]) => ({ score: SCORES[String(messages[0]!.content)]!, top: [] });
const run = (t: RoutingTable) => simulateRoute(t, rows, { score, outputTokens: 100 });

describe('simulate on a labelled file', () => {
  test('upTo 0.5: hello and world go to cheap, apple and house to strong', () => {
    const r = run(route);
    expect(r.requests).toBe(4);
    expect(r.topThreshold).toEqual({ value: 0.5, from: 'upTo' });
    expect(r.top).toEqual({ backend: 'strong', model: 'large-model' });
    // Routed, in micro-dollars (tokens x price per million):
    //   hello -> cheap, output = weak response "yes" (1):   8*1  +   1*2  =   10
    //   world -> cheap, no weak response, output 100:       8*1  + 100*2  =  208
    //   apple -> strong, output = strong response "ok" (1): 8*10 +   1*20 =  100
    //   house -> strong, no strong response, output 100:    8*10 + 100*20 = 2080
    const [cheap, strong] = r.backends;
    expect(cheap).toMatchObject({
      backend: 'cheap',
      tier: 0,
      requests: 2,
      share: 0.5,
      inputTokens: 8,
      outputTokens: 50.5,
    });
    expect(strong).toMatchObject({
      backend: 'strong',
      tier: 1,
      requests: 2,
      share: 0.5,
      inputTokens: 8,
      outputTokens: 50.5,
    });
    expect(cheap!.costUSD).toBeCloseTo(218e-6, 12);
    expect(strong!.costUSD).toBeCloseTo(2180e-6, 12);
    // Routed total 2398 u$ over 4 requests = $0.5995 per 1,000.
    // Always strong: hello's strong response "yes indeed" is 2 tokens: 8*10 + 2*20 = 120; world 2080; apple 100;
    // house 2080; total 4380 u$ = $1.095 per 1,000. Saved 1982 u$ = $0.4955 per 1,000, 1982/4380 = 45.25%.
    expect(r.cost.routedPer1k).toBeCloseTo(0.5995, 10);
    expect(r.cost.topPer1k).toBeCloseTo(1.095, 10);
    expect(r.cost.savedPer1k).toBeCloseTo(0.4955, 10);
    expect(r.cost.savedShare).toBeCloseTo(1982 / 4380, 10);
    // Quality: routed = weak(hello)=1, weak(world)=0, strong(apple)=1, strong(house)=0 -> 0.5.
    // Always strong: 1, 1, 1, 0 -> 0.75. Always weak: 1, 0, 0, 0 -> 0.25.
    // Kept 0.5 / 0.75 = 66.7%; gap recovered (0.5 - 0.25) / (0.75 - 0.25) = 50%.
    expect(r.quality!.labelled).toBe(4);
    expect(r.quality!.routed).toBeCloseTo(0.5, 12);
    expect(r.quality!.top).toBeCloseTo(0.75, 12);
    expect(r.quality!.weak).toBeCloseTo(0.25, 12);
    expect(r.quality!.keptShare).toBeCloseTo(2 / 3, 12);
    expect(r.quality!.gapRecovered).toBeCloseTo(0.5, 12);
    expect(cheap!.quality).toBeCloseTo(0.5, 12);
    expect(strong!.quality).toBeCloseTo(0.5, 12);
    // Output tokens came from responses for hello (weak) and apple (strong); the two others used 100.
    expect(r.outputTokensFrom).toEqual({ responses: 2, estimate: 2 });
  });

  test('targetShare 0.25 calibrates the boundary to these prompts: only house reaches strong', () => {
    const s = route.strategy as Extract<RoutingTable['strategy'], { kind: 'complexity' }>;
    const r = run({ ...route, strategy: { ...s, targetShare: 0.25 } });
    // Scores sorted: 0.1 0.3 0.7 0.9; round(0.75 * 4) = 3 stay below, so the boundary is the third, 0.7.
    expect(r.topThreshold).toEqual({ value: 0.7, from: 'targetShare' });
    expect(r.backends.map((b) => b.requests)).toEqual([3, 1]);
    // Routed: hello 10, world 208, apple now on cheap with weak response "no" (1 token): 8*1 + 1*2 = 10,
    // house 2080; total 2308 u$ = $0.577 per 1,000. Quality: 1, 0, 0 (weak apple), 0 -> 0.25 = always weak.
    expect(r.cost.routedPer1k).toBeCloseTo(0.577, 10);
    expect(r.quality!.routed).toBeCloseTo(0.25, 12);
    expect(r.quality!.gapRecovered).toBeCloseTo(0, 12);
  });

  test('a fixed route is its own baseline: nothing saved, strong quality', () => {
    const r = run({ ...route, strategy: { kind: 'fixed', backend: 'strong' } });
    expect(r.top.backend).toBe('strong');
    expect(r.topThreshold).toBeUndefined();
    expect(r.cost.routedPer1k).toBeCloseTo(1.095, 10);
    expect(r.cost.savedPer1k).toBeCloseTo(0, 10);
    expect(r.quality!.keptShare).toBeCloseTo(1, 12);
  });

  test('unlabelled prompts give cost but no quality', () => {
    const plain = rows.map(({ id, messages }) => ({ id, messages }));
    const r = simulateRoute(route, plain, { score, outputTokens: 100 });
    expect(r.quality).toBeUndefined();
    // Every output is now the estimate: cheap 2 * (8 + 200) = 416, strong 2 * (80 + 2000) = 4160 -> 4576 u$.
    expect(r.cost.routedPer1k).toBeCloseTo(1.144, 10);
    expect(formatReport(r, { prompts: 'p.jsonl', outputTokens: 100 })).toContain('quality: no weak/strong labels');
  });

  test('the table shows share, cost per 1,000 and quality per tier, and the always-top line', () => {
    const text = formatReport(run(route), { prompts: 'labelled.jsonl', outputTokens: 100 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('route default/two-tier (complexity) on 4 prompts from labelled.jsonl');
    expect(lines.find((l) => l.startsWith('0     cheap'))).toMatch(
      /cheap\s+small-model\s+2\s+50\.0%\s+8\s+51\s+\$0\.0545\s+0\.500$/,
    );
    expect(lines.find((l) => l.includes('routed'))).toMatch(/routed\s+4\s+100\.0%\s+\$0\.5995\s+0\.500$/);
    expect(lines.find((l) => l.includes('always strong'))).toMatch(/always strong\s+large-model\s+\$1\.095\s+0\.750$/);
    expect(text).toContain('cost: routing saves $0.4955 per 1,000 requests (45.3% less) than always using strong');
    expect(text).toContain('quality: 66.7% of always-strong on 4 labelled prompts, 50.0% of the gap');
  });

  test('shareThreshold keeps round((1 - share) * n) scores at or below it', () => {
    expect(shareThreshold([0.9, 0.1, 0.5, 0.3], 0.5)).toBe(0.3);
    // round(0.8 * 4) = 3 below: one prompt (25%) on top is nearer 20% than none.
    expect(shareThreshold([0.9, 0.1, 0.5, 0.3], 0.2)).toBe(0.5);
    expect(shareThreshold([], 0.2)).toBe(1);
  });
});
