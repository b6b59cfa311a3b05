/**
 * The status a route should have after a sync: pure, so it is tested without a cluster. What Redis serves
 * (tableVersion, backends, lastPublishTime) only changes on a publish: after a rejected edit those fields still
 * describe the last good table, which sidecars keep routing by.
 */
import type { FieldProblem } from '../core/api/errors.js';
import type { ModelRoute, ModelRouteStatus, RoutingTable } from '../core/api/types.js';
import { Reason, setCondition } from './conditions.js';

export interface MissingSecret {
  field: string;
  secret: string;
  key: string;
  why: 'secret' | 'key';
}

export type SyncOutcome =
  | { kind: 'published'; table: RoutingTable; wrote: boolean }
  | { kind: 'invalid'; problems: FieldProblem[] }
  | { kind: 'secretMissing'; missing: MissingSecret[] };

/** `generation` is the one that was synced: after a conflict `route` may be newer than what we compiled. */
export function routeStatus(
  route: ModelRoute,
  outcome: SyncOutcome,
  now: Date,
  generation = route.metadata.generation,
): ModelRouteStatus {
  const prev = route.status ?? {};
  const ns = route.metadata.namespace ?? 'default';
  const stillServed = prev.tableVersion
    ? ` Sidecars keep serving the last good table (version ${prev.tableVersion}).`
    : ' No table has been published for this route yet.';
  let conditions = prev.conditions ?? [];
  const status: ModelRouteStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(prev.tableVersion !== undefined ? { tableVersion: prev.tableVersion } : {}),
    ...(prev.strategy !== undefined ? { strategy: prev.strategy } : {}),
    ...(prev.backends !== undefined ? { backends: prev.backends } : {}),
    ...(prev.lastPublishTime !== undefined ? { lastPublishTime: prev.lastPublishTime } : {}),
  };
  const cond = (type: 'Accepted' | 'Ready', ok: boolean, reason: string, message: string): void => {
    conditions = setCondition(
      conditions,
      {
        type,
        status: ok ? 'True' : 'False',
        reason,
        message,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      now,
    );
  };
  switch (outcome.kind) {
    case 'published': {
      const { table, wrote } = outcome;
      cond('Accepted', true, Reason.Compiled, 'The spec compiled into a routing table.');
      const message = `Routing table ${table.tableVersion} with ${table.backends.length} backend(s) is published.`;
      cond('Ready', true, Reason.Published, message);
      status.tableVersion = table.tableVersion;
      status.strategy = table.strategy.kind;
      status.backends = table.backends.length;
      if (wrote || status.lastPublishTime === undefined || prev.tableVersion !== table.tableVersion) {
        status.lastPublishTime = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
      }
      status.message = message;
      break;
    }
    case 'invalid': {
      const detail = outcome.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
      cond('Accepted', false, Reason.InvalidSpec, `The spec is invalid: ${detail}`);
      cond(
        'Ready',
        false,
        Reason.NotAccepted,
        `The spec of generation ${generation ?? '?'} was not published.${stillServed}`,
      );
      status.message = `Fix the spec: ${detail}.${stillServed}`;
      break;
    }
    case 'secretMissing': {
      const what = outcome.missing
        .map((m) =>
          m.why === 'secret'
            ? `Secret ${ns}/${m.secret} (referenced by ${m.field}) does not exist`
            : `Secret ${ns}/${m.secret} has no key '${m.key}' (referenced by ${m.field})`,
        )
        .join('; ');
      const first = outcome.missing[0];
      const fix = first
        ? ` Create it, e.g. kubectl -n ${ns} create secret generic ${first.secret} --from-literal=${first.key}=<provider key>; the route republishes by itself.`
        : '';
      cond('Accepted', true, Reason.Compiled, 'The spec is valid.');
      cond('Ready', false, Reason.SecretNotFound, `${what}.${fix}${stillServed}`);
      status.message = `${what}.${fix}${stillServed}`;
      break;
    }
  }
  status.conditions = conditions;
  return status;
}
