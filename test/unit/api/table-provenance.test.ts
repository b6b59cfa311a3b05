/**
 * provenance (which reconcile published a table, and when) travels with the table but is not content: two reconciles
 * publishing the same spec must give the same tableVersion, and a sidecar must accept a table that carries it.
 */
import { describe, expect, it } from '@jest/globals';
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile, tableVersionOf } from '../../../core/api/compile.js';
import type { RoutingTable } from '../../../core/api/types.js';
import { validateTable } from '../../../core/api/validate-table.js';
import { route } from './routes.js';

const table = compile(route());
const provenance = {
  reconcileTraceId: '0af7651916cd43dd8448eb211c80319c',
  reconcileSpanId: 'b7ad6b7169203331',
  generation: 3,
  publishedAt: '2026-11-28T16:00:00.000Z',
};
const withProvenance: RoutingTable = { ...structuredClone(table), provenance };

describe('RoutingTable.provenance', () => {
  it('is left out of the tableVersion hash', () => {
    expect(tableVersionOf(withProvenance)).toBe(table.tableVersion);
    const other = { ...withProvenance, provenance: { ...provenance, reconcileTraceId: 'f'.repeat(32), generation: 4 } };
    expect(tableVersionOf(other)).toBe(table.tableVersion);
  });

  it('is accepted by validateTable as read from Redis', () => {
    expect(validateTable(JSON.parse(JSON.stringify(withProvenance)))).toEqual(withProvenance);
  });

  it.each([
    ['a short trace id', { reconcileTraceId: 'abc' }, /\$\.provenance\.reconcileTraceId/],
    ['an upper-case span id', { reconcileSpanId: 'B7AD6B7169203331' }, /\$\.provenance\.reconcileSpanId/],
    ['a negative generation', { generation: -1 }, /\$\.provenance\.generation/],
    ['a time that is not one', { publishedAt: 'yesterday' }, /\$\.provenance\.publishedAt/],
  ])('refuses %s', (_name, p, message) => {
    expect(() => validateTable({ ...structuredClone(table), provenance: p })).toThrow(message);
  });

  it('is described by docs/routing-table.schema.json', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const schema = JSON.parse(readFileSync(`${root}docs/routing-table.schema.json`, 'utf8')) as object;
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(withProvenance) ? [] : validate.errors).toEqual([]);
  });
});
