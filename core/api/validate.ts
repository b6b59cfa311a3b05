/**
 * Offline validation of a ModelRoute with the CRD's own rules: the structural schema (types, required fields,
 * enums, bounds) is interpreted from crd-schema.ts, and each CEL rule runs as its JavaScript twin and reports the
 * rule's message verbatim. `modelroute validate` and the operator use it, so a user sees the same problem before
 * and after `kubectl apply`.
 */
import { CEL_TWINS } from './cel-rules.js';
import { specSchema } from './crd-schema.js';
import type { FieldProblem } from './errors.js';
import { API_GROUP, API_VERSION, KIND } from './types.js';
import type { SchemaNode } from './schema-builders.js';

export type { FieldProblem } from './errors.js';

/** Every problem the apiserver would report for this object (metadata aside), in document order. */
export function validateRoute(route: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (typeof route !== 'object' || route === null || Array.isArray(route)) {
    return [{ field: '<root>', message: 'a ModelRoute must be a YAML/JSON object' }];
  }
  const r = route as Record<string, unknown>;
  if (r.apiVersion !== `${API_GROUP}/${API_VERSION}`) {
    problems.push({
      field: 'apiVersion',
      message: `must be ${API_GROUP}/${API_VERSION}, got ${JSON.stringify(r.apiVersion)}`,
    });
  }
  if (r.kind !== KIND) problems.push({ field: 'kind', message: `must be ${KIND}, got ${JSON.stringify(r.kind)}` });
  const meta = r.metadata as Record<string, unknown> | undefined;
  if (typeof meta?.name !== 'string' || meta.name === '')
    problems.push({ field: 'metadata.name', message: 'Required value' });
  if (r.spec === undefined) problems.push({ field: 'spec', message: 'Required value' });
  else walk(r.spec, specSchema, 'spec', problems);
  return problems;
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeFits(v: unknown, type: SchemaNode['type']): boolean {
  const t = typeOf(v);
  return t === type || (type === 'number' && t === 'integer');
}

function walk(v: unknown, s: SchemaNode, path: string, out: FieldProblem[]): void {
  if (!typeFits(v, s.type)) {
    out.push({
      field: path,
      message: `Invalid value: "${typeOf(v)}": ${path} in body must be of type ${s.type}: "${typeOf(v)}"`,
    });
    return;
  }
  const bad = (message: string): void => void out.push({ field: path, message });
  if (typeof v === 'string') {
    if (s.enum && !s.enum.includes(v)) {
      bad(
        `Unsupported value: ${JSON.stringify(v)}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`,
      );
    }
    if (s.maxLength !== undefined && v.length > s.maxLength) bad(`Too long: may not be more than ${s.maxLength} bytes`);
    if (s.minLength !== undefined && v.length < s.minLength) {
      bad(`Invalid value: ${JSON.stringify(v)}: ${path} in body should be at least ${s.minLength} chars long`);
    }
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(v)) {
      bad(`Invalid value: ${JSON.stringify(v)}: ${path} in body should match '${s.pattern}'`);
    }
  } else if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) {
      bad(`Invalid value: ${v}: ${path} in body should be greater than or equal to ${s.minimum}`);
    }
    if (s.maximum !== undefined && v > s.maximum)
      bad(`Invalid value: ${v}: ${path} in body should be less than or equal to ${s.maximum}`);
  } else if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems)
      bad(`Too many: ${v.length}: must have at most ${s.maxItems} items`);
    if (s.minItems !== undefined && v.length < s.minItems) {
      bad(`Invalid value: ${v.length}: ${path} in body should have at least ${s.minItems} items`);
    }
    if (s.items) v.forEach((item, i) => walk(item, s.items!, `${path}[${i}]`, out));
  } else if (s.type === 'object') {
    const o = v as Record<string, unknown>;
    // The apiserver prunes null fields first, so a null required field is a missing one.
    for (const k of s.required ?? []) {
      if (o[k] === undefined || o[k] === null) out.push({ field: `${path}.${k}`, message: 'Required value' });
    }
    for (const [k, child] of Object.entries(o)) {
      const childSchema = s.properties?.[k];
      if (!childSchema) out.push({ field: `${path}.${k}`, message: `unknown field "${path}.${k}"${hintFor(k, s)}` });
      else if (child !== undefined && child !== null) walk(child, childSchema, `${path}.${k}`, out);
    }
  }
  for (const rule of s['x-kubernetes-validations'] ?? []) {
    const twin = CEL_TWINS[rule.message];
    if (!twin) throw new Error(`no JavaScript twin for CEL rule '${rule.message}'`);
    if (!twin(v)) out.push({ field: path, message: rule.message });
  }
}

/** kubectl reads YAML 1.1, where a bare `on`, `yes`, `no`... key is a boolean; say so instead of leaving a riddle. */
function hintFor(key: string, parent: SchemaNode): string {
  if (key !== 'true' && key !== 'false') return '';
  const meant = Object.keys(parent.properties ?? {}).filter((p) => /^(on|off|yes|no|y|n)$/i.test(p));
  return meant.length > 0
    ? ` (YAML 1.1, which kubectl uses, reads a bare ${meant[0]}: as ${key}: write "${meant[0]}":)`
    : '';
}
