import { describe, expect, it } from '@jest/globals';
import type { ModelRoute, RoutingTable } from '../../../core/api/types.js';
import { Reason, sameStatus, setCondition } from '../../../operator/conditions.js';
import { routeStatus } from '../../../operator/route-status.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');

function route(generation: number, status?: ModelRoute['status']): ModelRoute {
  return {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name: 'r', namespace: 'team-a', generation },
    spec: { match: { models: ['m'] }, backends: [], strategy: {} },
    ...(status ? { status } : {}),
  };
}
const table = {
  tableVersion: 'v1',
  backends: [{}, {}],
  strategy: { kind: 'weighted', backends: [] },
} as unknown as RoutingTable;

describe('setCondition', () => {
  it('keeps lastTransitionTime when the status does not flip', () => {
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'Published', message: 'x' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Published', message: 'y' }, t1);
    expect(b[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(b[0]?.message).toBe('y');
    const c = setCondition(b, { type: 'Ready', status: 'False', reason: 'SecretNotFound', message: 'z' }, t1);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });
});

describe('routeStatus', () => {
  it('published: Accepted and Ready true, observedGeneration, tableVersion and backends', () => {
    const s = routeStatus(route(3), { kind: 'published', table, wrote: true }, t0);
    expect(s.observedGeneration).toBe(3);
    expect(s.tableVersion).toBe('v1');
    expect(s.strategy).toBe('weighted');
    expect(s.backends).toBe(2);
    expect(s.lastPublishTime).toBe('2026-01-01T00:00:00Z');
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Accepted', 'True', Reason.Compiled, 3],
      ['Ready', 'True', Reason.Published, 3],
    ]);
  });

  it('recomputing an unchanged published route yields the same status (no write on resync)', () => {
    const first = routeStatus(route(3), { kind: 'published', table, wrote: true }, t0);
    const again = routeStatus(route(3, first), { kind: 'published', table, wrote: false }, t1);
    expect(sameStatus(first, again)).toBe(true);
  });

  it('missing Secret: Ready=False SecretNotFound with a kubectl hint, last good table still reported', () => {
    const good = routeStatus(route(1), { kind: 'published', table, wrote: true }, t0);
    const s = routeStatus(
      route(2, good),
      {
        kind: 'secretMissing',
        missing: [{ field: 'spec.backends[0].credentialsSecretRef', secret: 'openai', key: 'apiKey', why: 'secret' }],
      },
      t1,
    );
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.reason).toBe(Reason.SecretNotFound);
    expect(ready?.message).toContain('Secret team-a/openai');
    expect(ready?.message).toContain('kubectl -n team-a create secret generic openai --from-literal=apiKey=');
    expect(ready?.message).toContain('version v1');
    expect(s.tableVersion).toBe('v1');
    expect(s.observedGeneration).toBe(2);
  });

  it('invalid spec: Accepted=False InvalidSpec naming the field', () => {
    const s = routeStatus(
      route(4),
      { kind: 'invalid', problems: [{ field: 'spec.backends', message: 'must have at least 1 item' }] },
      t0,
    );
    const accepted = s.conditions?.find((c) => c.type === 'Accepted');
    expect(accepted?.status).toBe('False');
    expect(accepted?.reason).toBe(Reason.InvalidSpec);
    expect(accepted?.message).toContain('spec.backends: must have at least 1 item');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.reason).toBe(Reason.NotAccepted);
  });

  it('uses the synced generation, not a newer one seen after a conflict', () => {
    const s = routeStatus(route(9), { kind: 'published', table, wrote: true }, t0, 8);
    expect(s.observedGeneration).toBe(8);
  });
});
