/**
 * docs/routing-table.schema.json must describe what compile() really produces, so people writing other readers
 * of the Redis table can trust it. (ajv 6 comes with eslint; it reads draft-07.)
 */
import { describe, expect, it } from '@jest/globals';
import Ajv from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { compile } from '../../../core/api/compile.js';
import type { ModelRoute } from '../../../core/api/types.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const validate = new Ajv({ allErrors: true }).compile(
  JSON.parse(readFileSync(`${root}docs/routing-table.schema.json`, 'utf8')) as object,
);
const examples = readdirSync(`${root}examples`).filter((f) => f.endsWith('.yaml'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutating arbitrary parts of a table
type Loose = Record<string, any>;
const sealed = { alg: 'A256GCM' as const, keyId: 'k', iv: 'aQ==', tag: 'dA==', data: 'ZA==' };

describe('docs/routing-table.schema.json', () => {
  it.each(examples)('accepts the compiled %s, with and without sealed credentials', (file) => {
    const route = parse(readFileSync(`${root}examples/${file}`, 'utf8'), { version: '1.1' }) as ModelRoute;
    for (const table of [compile(route), compile(route, { seal: () => sealed })]) {
      expect(validate(table) ? [] : validate.errors).toEqual([]);
    }
  });

  it.each([
    ['a plaintext key field', (t: Loose) => (t.backends[0].auth = { header: 'authorization', key: 'sk-123' })],
    ['schemaVersion 2', (t: Loose) => (t.schemaVersion = 2)],
    ['a trailing slash', (t: Loose) => (t.backends[0].baseURL += '/')],
    ['an unknown strategy', (t: Loose) => (t.strategy = { kind: 'random' })],
  ])('rejects %s', (_name, change) => {
    const table = compile(
      parse(readFileSync(`${root}examples/${examples[0]}`, 'utf8'), { version: '1.1' }) as ModelRoute,
    );
    change(table as unknown as Record<string, unknown>);
    expect(validate(table)).toBe(false);
  });
});
