/**
 * `modelroute simulate` as scripts use it: exit codes 0/1/2, JSON on stdout, errors that say what to fix.
 * Runs the command in-process on the fixture files, with the shipped classifier.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../../cli/commands/simulate.js';
import type { SimulateReport } from '../../../local/simulate.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/simulate/${name}`, import.meta.url));
let out: string;
let err: string;
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'modelroute-simulate-'));
  dirs.push(dir);
  return dir;
};

beforeEach(() => {
  out = '';
  err = '';
  jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
});

afterEach(() => {
  jest.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const args = (...extra: string[]) => [
  '--route',
  fixture('two-tier.yaml'),
  '--prompts',
  fixture('labelled.jsonl'),
  ...extra,
];

describe('modelroute simulate', () => {
  test('--json prints the report; the always-top baseline does not depend on scores', async () => {
    expect(await run(args('--json', '--output-tokens', '100'))).toBe(0);
    const r = JSON.parse(out) as SimulateReport;
    expect(r.requests).toBe(4);
    expect(r.backends.reduce((n, b) => n + b.requests, 0)).toBe(4);
    // Hand-checked in simulate.test.ts: 4380 micro-dollars over 4 requests.
    expect(r.cost.topPer1k).toBeCloseTo(1.095, 10);
    expect(r.quality!.top).toBeCloseTo(0.75, 12);
  });

  test('prints a table by default', async () => {
    expect(await run(args())).toBe(0);
    expect(out).toContain('route default/two-tier (complexity) on 4 prompts');
    expect(out).toMatch(/always strong\s+large-model/);
    expect(out).toContain('estimated at --output-tokens 256');
  });

  test('usage errors exit 2 and list every problem', async () => {
    expect(await run(['--route', fixture('two-tier.yaml'), '--bogus', '--output-tokens', 'many'])).toBe(2);
    expect(err).toContain('unknown flag --bogus');
    expect(err).toContain('--prompts FILE is required');
    expect(err).toContain("--output-tokens must be an integer >= 0, got 'many'");
  });

  test('--help exits 0', async () => {
    expect(await run(['--help'])).toBe(0);
    expect(out).toContain('usage: modelroute simulate --route FILE --prompts FILE');
  });

  test('a bad prompts line exits 1 naming the file and line', async () => {
    expect(await run(['--route', fixture('two-tier.yaml'), '--prompts', fixture('bad-row.jsonl')])).toBe(1);
    expect(err).toContain("bad-row.jsonl: line 2: 'messages' must be an array of {role, content}");
  });

  test('an invalid route exits 1 with the CRD message, file and field', async () => {
    const dir = tempDir();
    const file = join(dir, 'route.yaml');
    writeFileSync(file, readFileSync(fixture('two-tier.yaml'), 'utf8').replace('upTo: 0.5', 'upTo: 1.5'));
    expect(await run(['--route', file, '--prompts', fixture('labelled.jsonl')])).toBe(1);
    expect(err).toContain(`${file}: route default/two-tier: spec.strategy.complexity.tiers[0].upTo: `);
    expect(err).toContain(`modelroute validate ${file}`);
  });

  test('a file with several routes needs --name', async () => {
    const dir = tempDir();
    const file = join(dir, 'routes.yaml');
    const one = readFileSync(fixture('two-tier.yaml'), 'utf8');
    writeFileSync(file, `${one}\n---\n${one.replace('name: two-tier', 'name: other')}`);
    expect(await run(['--route', file, '--prompts', fixture('labelled.jsonl')])).toBe(1);
    expect(err).toContain('holds 2 routes (two-tier, other): pick one with --name');
    expect(await run(['--route', file, '--name', 'other', '--prompts', fixture('labelled.jsonl'), '--json'])).toBe(0);
    expect((JSON.parse(out) as SimulateReport).route).toBe('default/other');
  });

  test('a missing file exits 1', async () => {
    expect(await run(['--route', fixture('nope.yaml'), '--prompts', fixture('labelled.jsonl')])).toBe(1);
    expect(err).toMatch(/cannot read .*nope\.yaml: ENOENT/);
  });
});
