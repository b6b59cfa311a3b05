/**
 * docs/troubleshooting.md must cover every error a user can get: each `code` the sidecar answers with (its own
 * SidecarErrors, the core's RouteErrors, the in-stream error event) and each status reason the operator writes.
 * The codes are read from the source, so a new code without a doc entry fails here.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Reason } from '../../../operator/conditions.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(`${root}docs/troubleshooting.md`, 'utf8');
const source = (dir: string): string =>
  readdirSync(`${root}${dir}`)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(`${root}${dir}/${f}`, 'utf8'))
    .join('\n');

function sidecarCodes(): string[] {
  const src = source('sidecar');
  const codes = new Set<string>();
  for (const m of src.matchAll(/SidecarError\(\s*\d{3},\s*'([a-z_]+)'/g)) codes.add(m[1]!);
  for (const m of src.matchAll(/\bbad\(\s*'([a-z_]+)'/g)) codes.add(m[1]!);
  for (const m of src.matchAll(/errorJSON\(\s*'[a-z_]+',\s*'([a-z_]+)'/g)) codes.add(m[1]!);
  return [...codes].sort();
}

function routeErrorCodes(): string[] {
  const types = readFileSync(`${root}core/api/types.ts`, 'utf8');
  const union = /class RouteError[\s\S]*?readonly code:([^,]+),/.exec(types)?.[1] ?? '';
  return [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
}

describe('docs/troubleshooting.md', () => {
  it('explains every error code the sidecar answers with', () => {
    const codes = sidecarCodes();
    expect(codes).toEqual(expect.arrayContaining(['body_too_large', 'circuit_open', 'model_not_found']));
    expect(codes.filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });

  it('explains every policy refusal of decide()', () => {
    const codes = routeErrorCodes();
    expect(codes.length).toBeGreaterThanOrEqual(4);
    expect(codes.filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });

  it('explains every condition reason the operator writes', () => {
    expect(Object.values(Reason).filter((r) => !doc.includes(`\`${r}\``))).toEqual([]);
  });
});
