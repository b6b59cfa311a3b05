/** The response headers that explain a decision: route, backend that answered, model, tier, score, table version. */
import type { Decision, TableBackend } from '../core/api/types.js';

export function explainHeaders(d: Decision, b: TableBackend): Record<string, string> {
  const h: Record<string, string> = {
    'x-modelroute-route': d.table.route.name,
    'x-modelroute-backend': b.name,
    'x-modelroute-model': b.model,
    'x-modelroute-table-version': d.table.tableVersion,
  };
  if (d.tier !== undefined) h['x-modelroute-tier'] = String(d.tier);
  if (d.score !== undefined) h['x-modelroute-score'] = d.score.toFixed(3);
  return h;
}
