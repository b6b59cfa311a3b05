/**
 * `npm run docs:reference`: writes docs/reference.md, the ModelRoute field reference, from the CRD as the
 * apiserver sees it (crds/modelroute.dev_modelroutes.yaml). Reading the YAML rather than crd-schema.ts keeps the
 * page honest about what is installed; test/unit/docs/reference.test.ts fails when the two drift.
 *
 * The CRD carries no `default:` keywords (compile() applies defaults, so the stored object stays as written); the
 * Default column therefore comes from the "Default ..." sentence of each description, which crd-schema.ts builds
 * from core/api/defaults.ts. A `default:` keyword, should one appear, takes precedence.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export const CRD_PATH = 'crds/modelroute.dev_modelroutes.yaml';
export const REFERENCE_PATH = 'docs/reference.md';
export const REGENERATE = 'npm run docs:reference';

export interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: Record<string, unknown>;
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[];
  schema: { openAPIV3Schema: SchemaNode };
}

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] };
    versions: CrdVersion[];
  };
}

/** One row of a field table. */
export interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  default: string;
  constraints: string[];
  description: string;
}

/** One CEL rule with the field it is attached to. */
export interface RuleRow {
  path: string;
  message: string;
  rule: string;
}

/** Every field under `node`, depth first in schema order; list items are written `name[]`. */
export function fieldRows(node: SchemaNode, prefix: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const visit = (n: SchemaNode, at: string): void => {
    for (const [key, child] of Object.entries(n.properties ?? {})) {
      const p = `${at}.${key}`;
      rows.push(row(p, child, (n.required ?? []).includes(key)));
      descend(child, p);
    }
  };
  const descend = (n: SchemaNode, p: string): void => {
    if (n.type === 'object') visit(n, p);
    else if (n.type === 'array' && n.items?.type === 'object') visit(n.items, `${p}[]`);
  };
  descend(node, prefix);
  return rows;
}

function row(p: string, n: SchemaNode, required: boolean): FieldRow {
  const item = n.type === 'array' ? n.items : undefined;
  return {
    path: p,
    type: item ? `[]${item.type ?? 'object'}` : (n.type ?? 'object'),
    required,
    default: n.default !== undefined ? JSON.stringify(n.default) : (defaultFrom(n.description ?? '') ?? ''),
    constraints: [...constraintsOf(n), ...(item && item.type !== 'object' ? constraintsOf(item, 'each ') : [])],
    description: n.description ?? '',
  };
}

/**
 * The value of a "Default X." or "Defaults to X." sentence, or undefined. Stops at the first full stop outside
 * parentheses that ends the sentence, so "Defaults to 0 (free, e.g. self-hosted)." keeps its remark.
 */
export function defaultFrom(description: string): string | undefined {
  const m = /\bDefaults?(?::| to)? /.exec(description);
  if (!m) return undefined;
  let depth = 0;
  const start = m.index + m[0].length;
  for (let i = start; i < description.length; i++) {
    const c = description[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '.' && depth === 0 && (i + 1 === description.length || /\s/.test(description[i + 1]!))) {
      return description.slice(start, i);
    }
  }
  return description.slice(start);
}

function constraintsOf(n: SchemaNode, lead = ''): string[] {
  const out: string[] = [];
  const range = (lo: number | undefined, hi: number | undefined, unit: string): void => {
    if (lo !== undefined && hi !== undefined) out.push(`${lead}${unit}${lo} to ${hi}`);
    else if (lo !== undefined) out.push(`${lead}${unit}>= ${lo}`);
    else if (hi !== undefined) out.push(`${lead}${unit}<= ${hi}`);
  };
  range(n.minimum, n.maximum, '');
  range(n.minLength, n.maxLength, 'length ');
  range(n.minItems, n.maxItems, 'items ');
  if (n.enum) out.push(`${lead}one of ${n.enum.map((e) => code(String(e))).join(', ')}`);
  if (n.pattern !== undefined) out.push(`${lead}matches ${code(n.pattern)}`);
  if (n.format !== undefined) out.push(`${lead}format ${n.format}`);
  if (n['x-kubernetes-list-type'] === 'map') {
    out.push(`map list keyed by ${(n['x-kubernetes-list-map-keys'] ?? []).map(code).join(', ')}`);
  }
  return out;
}

/** Every CEL rule under `node`, with the path of the field it is attached to. */
export function ruleRows(node: SchemaNode, at: string): RuleRow[] {
  const rows = (node['x-kubernetes-validations'] ?? []).map((r) => ({ path: at, message: r.message, rule: r.rule }));
  for (const [key, child] of Object.entries(node.properties ?? {})) rows.push(...ruleRows(child, `${at}.${key}`));
  if (node.items) rows.push(...ruleRows(node.items, `${at}[]`));
  return rows;
}

/** Inline code that survives any content: the fence is longer than the longest run of backticks inside. */
function code(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A table cell: pipes escaped (GitHub tables split on them even inside code spans), no line breaks. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function fieldTable(rows: FieldRow[]): string[] {
  return table(
    ['Field', 'Type', 'Required', 'Default', 'Constraints', 'Description'],
    rows.map((r) => [
      code(r.path),
      r.type,
      r.required ? 'yes' : '',
      r.default,
      r.constraints.join('; '),
      r.description,
    ]),
  );
}

/** The whole page for the CRD text given. Pure, so the test can compare it with the file on disk. */
export function renderReference(crdYaml: string): string {
  // YAML 1.1, as kubectl reads it: a quoted "on" stays a key, "True" stays a string.
  const crd = parse(crdYaml, { version: '1.1' }) as Crd;
  const { group, names, scope } = crd.spec;
  const out: string[] = [
    '<!-- Generated by scripts/gen-reference.ts from crds/modelroute.dev_modelroutes.yaml; do not edit.',
    `     After changing core/api/crd-schema.ts and regenerating the CRD, run: ${REGENERATE} -->`,
    '',
    `# ${names.kind} reference`,
    '',
    `Every field of the \`${names.kind}\` custom resource, as the installed CRD defines it. For what the fields do`,
    'together, with examples, see [api.md](api.md); for the compiled routing table, see',
    '[routing-table.schema.json](routing-table.schema.json).',
    '',
    '- **Required**: the field must be set whenever its parent is set.',
    '- **Default**: the value the operator compiles in when the field is left out. The CRD itself stores the',
    '  object as written (it declares no `default:`), so `kubectl get -o yaml` shows only what you set.',
    '- **Constraints**: checked by the apiserver on `kubectl apply`, and offline, with the same messages, by',
    '  `modelroute validate FILE`.',
  ];
  for (const v of crd.spec.versions) {
    const root = v.schema.openAPIV3Schema;
    const spec = root.properties?.spec;
    const status = root.properties?.status;
    out.push(
      '',
      `## ${group}/${v.name}`,
      '',
      table(
        ['Property', 'Value'],
        [
          ['API version', code(`${group}/${v.name}`)],
          ['Kind', code(names.kind)],
          ['Scope', scope],
          ['Plural / singular', `${code(names.plural)} / ${code(names.singular ?? names.kind.toLowerCase())}`],
          ['Short names', (names.shortNames ?? []).map(code).join(', ') || 'none'],
          ['Categories', (names.categories ?? []).map(code).join(', ') || 'none'],
          ['Served / storage', `${v.served ? 'yes' : 'no'} / ${v.storage ? 'yes' : 'no'}`],
          [
            'Subresources',
            Object.keys(v.subresources ?? {})
              .map(code)
              .join(', ') || 'none',
          ],
        ],
      ).join('\n'),
      '',
      root.description ?? '',
    );
    if (v.additionalPrinterColumns?.length) {
      out.push(
        '',
        `### Columns of \`kubectl get ${names.plural}\``,
        '',
        ...table(
          ['Column', 'Type', 'JSONPath'],
          v.additionalPrinterColumns.map((c) => [c.name, c.type, code(c.jsonPath)]),
        ),
      );
    }
    if (spec) {
      out.push('', '### spec', '', spec.description ?? '', '', ...fieldTable(fieldRows(spec, 'spec')));
    }
    const rules = ruleRows(root, '');
    if (rules.length > 0) {
      out.push(
        '',
        '### Validation rules',
        '',
        'Besides the constraints above, the apiserver evaluates these CEL rules. A violation is reported on the',
        'field the rule is attached to, with exactly this message; `modelroute validate` runs a JavaScript twin of',
        'each rule (core/api/cel-rules.ts) and reports the same message.',
        '',
        ...table(
          ['Field', 'Message', 'Rule (CEL)'],
          rules.map((r) => [code(r.path.replace(/^\./, '') || '<root>'), r.message, code(r.rule)]),
        ),
      );
    }
    if (status) {
      out.push(
        '',
        '### status',
        '',
        `${status.description ?? ''} Users do not set it; the operator writes it through the \`status\` subresource.`,
        '',
        ...fieldTable(fieldRows(status, 'status')),
      );
    }
  }
  return `${out.join('\n')}\n`;
}

function main(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const md = renderReference(readFileSync(path.join(root, CRD_PATH), 'utf8'));
  writeFileSync(path.join(root, REFERENCE_PATH), md);
  console.log(`wrote ${REFERENCE_PATH} (${md.split('\n').length} lines) from ${CRD_PATH}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
