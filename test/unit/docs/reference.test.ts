/**
 * docs/reference.md is generated from the CRD (scripts/gen-reference.ts). It must not drift from
 * crds/modelroute.dev_modelroutes.yaml, and it must say what the code does: every field, every rule message,
 * and the defaults compile() really applies.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { modelRouteCRD } from '../../../core/api/crd-schema.js';
import { DEFAULT_CAPABILITIES, DEFAULT_PRIORITY, DEFAULT_RETRY, DEFAULT_TIMEOUTS } from '../../../core/api/defaults.js';
import { MSG } from '../../../core/api/rule-messages.js';
import {
  CRD_PATH,
  REFERENCE_PATH,
  REGENERATE,
  defaultFrom,
  fieldRows,
  renderReference,
  type SchemaNode,
} from '../../../scripts/gen-reference.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const crdYaml = readFileSync(`${root}${CRD_PATH}`, 'utf8');
const onDisk = readFileSync(`${root}${REFERENCE_PATH}`, 'utf8');
const rendered = renderReference(crdYaml);
const schema = modelRouteCRD.spec.versions[0].schema.openAPIV3Schema as unknown as SchemaNode;

/** Field paths walked straight from core/api/crd-schema.ts, independently of the generator's walk. */
function pathsOf(n: SchemaNode, at: string): string[] {
  const out: string[] = [];
  for (const [k, c] of Object.entries(n.properties ?? {})) {
    out.push(`${at}.${k}`, ...pathsOf(c, `${at}.${k}`));
    if (c.items) out.push(...pathsOf(c.items, `${at}.${k}[]`));
  }
  return out;
}

/** The row of a field in the page, split into cells (escaped pipes kept inside their cell). */
function rowOf(md: string, path: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
  if (!line) throw new Error(`no row for ${path}`);
  return line
    .slice(2, -2)
    .split(/(?<!\\) \| /)
    .map((c) => c.trim());
}

describe('docs/reference.md', () => {
  it('matches the CRD', () => {
    if (onDisk !== rendered) {
      throw new Error(`${REFERENCE_PATH} is out of date with ${CRD_PATH}: run \`${REGENERATE}\` and commit the result`);
    }
  });

  it('lists every field of spec and status', () => {
    const spec = pathsOf(schema.properties!.spec!, 'spec');
    const status = pathsOf(schema.properties!.status!, 'status');
    expect(spec.length).toBeGreaterThan(50);
    const missing = [...spec, ...status].filter((p) => !rendered.includes(`| \`${p}\` |`));
    expect(missing).toEqual([]);
  });

  it('lists every CEL rule message', () => {
    const missing = Object.values(MSG).filter((m) => !rendered.includes(`| ${m} |`));
    expect(missing).toEqual([]);
  });

  it('gives the defaults compile() applies', () => {
    const expected: Record<string, unknown> = {
      'spec.match.priority': DEFAULT_PRIORITY,
      'spec.retry.attempts': DEFAULT_RETRY.attempts,
      'spec.retry.backoffMs': DEFAULT_RETRY.backoffMs,
      'spec.overrides.allowTierHeader': false,
      'spec.overrides.allowBackendHeader': false,
    };
    for (const [k, v] of Object.entries(DEFAULT_TIMEOUTS)) expected[`spec.backends[].timeouts.${k}`] = v;
    for (const [k, v] of Object.entries(DEFAULT_CAPABILITIES)) expected[`spec.backends[].capabilities.${k}`] = v;
    const actual = Object.fromEntries(Object.keys(expected).map((p) => [p, rowOf(rendered, p)[3]]));
    expect(actual).toEqual(Object.fromEntries(Object.entries(expected).map(([p, v]) => [p, String(v)])));
  });

  it('keeps every table row at its column count, pipes in patterns and rules included', () => {
    const header = rowOf(rendered, 'spec.match.headers[].name');
    expect(header).toHaveLength(6);
    expect(header[4]).toContain('\\|~-]+$');
    for (const line of rendered.split('\n').filter((l) => l.startsWith('| `spec'))) {
      const cells = line.slice(2, -2).split(/(?<!\\) \| /);
      expect([3, 6]).toContain(cells.length);
    }
  });
});

describe('gen-reference', () => {
  it.each([
    ['Tries per backend, including the first. Default 1.', '1'],
    ['Price in USD. Defaults to 0 (free, e.g. self-hosted).', '0 (free, e.g. self-hosted)'],
    ['Failures (a, b). Default: all of them. Quote the key.', 'all of them'],
    ['Default 4096', '4096'],
    ['Backend name.', undefined],
  ])('reads the default of %j', (description, value) => {
    expect(defaultFrom(description)).toBe(value);
  });

  it('prefers a default: keyword to the description, and marks required fields', () => {
    const node: SchemaNode = {
      type: 'object',
      required: ['a'],
      properties: {
        a: { type: 'integer', description: 'A. Default 3.', default: 7, minimum: 0 },
        b: { type: 'array', description: 'B.', items: { type: 'string', enum: ['x|y'] }, maxItems: 2 },
      },
    };
    expect(fieldRows(node, 'spec')).toEqual([
      {
        path: 'spec.a',
        type: 'integer',
        required: true,
        default: '7',
        constraints: ['>= 0'],
        description: 'A. Default 3.',
      },
      {
        path: 'spec.b',
        type: '[]string',
        required: false,
        default: '',
        constraints: ['items <= 2', 'each one of `x|y`'],
        description: 'B.',
      },
    ]);
  });

  it('renders a CRD read from YAML as kubectl reads it (a quoted "on" stays a key)', () => {
    const crd = structuredClone(modelRouteCRD) as unknown as Record<string, unknown>;
    const md = renderReference(stringify(crd, { version: '1.1' }));
    expect(md).toContain('| `spec.fallbacks[].on` |');
    expect(md).not.toContain('spec.fallbacks[].true');
  });
});
