/**
 * crds/modelroute.dev_modelroutes.yaml is generated from core/api/crd-schema.ts, so the offline validator and the
 * apiserver enforce the same schema. Regenerate with:
 *   UPDATE_CRD=1 npm run test:unit -- test/unit/api/crd-file.test.ts && npx prettier --write crds/
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { CEL_TWINS } from '../../../core/api/cel-rules.js';
import { modelRouteCRD } from '../../../core/api/crd-schema.js';
import { MSG } from '../../../core/api/rule-messages.js';

const file = fileURLToPath(new URL('../../../crds/modelroute.dev_modelroutes.yaml', import.meta.url));
const HEADER = '# Generated from core/api/crd-schema.ts; do not edit (see test/unit/api/crd-file.test.ts).\n';

interface Node {
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  type?: string;
  maxLength?: number;
  maxItems?: number;
  enum?: string[];
  'x-kubernetes-validations'?: { rule: string; message: string }[];
}

function* nodes(n: Node, path: string): Generator<[string, Node]> {
  yield [path, n];
  for (const [k, c] of Object.entries(n.properties ?? {})) yield* nodes(c, `${path}.${k}`);
  if (n.items) yield* nodes(n.items, `${path}[]`);
}

const root = modelRouteCRD.spec.versions[0].schema.openAPIV3Schema as unknown as Node;

describe('CRD file', () => {
  it('matches core/api/crd-schema.ts', () => {
    if (process.env.UPDATE_CRD === '1')
      writeFileSync(file, HEADER + stringify(modelRouteCRD, { lineWidth: 0, version: '1.1' }));
    // Read as kubectl does (YAML 1.1): a bare `on:` key would turn into `true`.
    expect(parse(readFileSync(file, 'utf8'), { version: '1.1' })).toEqual(JSON.parse(JSON.stringify(modelRouteCRD)));
  });

  it('describes every field of spec and status', () => {
    const missing = [...nodes(root.properties!.spec!, 'spec'), ...nodes(root.properties!.status!, 'status')]
      .filter(([, n]) => !n.description)
      .map(([p]) => p);
    expect(missing).toEqual([]);
  });

  it('bounds every string without an enum and every list', () => {
    const unbounded = [...nodes(root.properties!.spec!, 'spec'), ...nodes(root.properties!.status!, 'status')]
      .filter(
        ([, n]) =>
          (n.type === 'string' && !n.enum && n.maxLength === undefined) ||
          (n.type === 'array' && n.maxItems === undefined),
      )
      .map(([p]) => p);
    expect(unbounded).toEqual([]);
  });

  it('has at least 12 CEL rules, each with a JavaScript twin, each message used once', () => {
    const rules = [...nodes(root, '')].flatMap(([, n]) => n['x-kubernetes-validations'] ?? []);
    expect(rules.length).toBeGreaterThanOrEqual(12);
    expect(rules.map((r) => r.message).sort()).toEqual(Object.values(MSG).sort());
    expect(Object.keys(CEL_TWINS).sort()).toEqual(Object.values(MSG).sort());
  });
});
