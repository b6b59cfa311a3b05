/**
 * Local mode's one decision per backend: call it for real or stand the simulator in for it (see
 * credential-env.ts for the rule). A simulated backend keeps its name, model, pricing and capabilities, so
 * routing, headers and cost are those of the real route; only where the call goes changes.
 */
import type { RoutingTable, TableBackend } from '../core/api/types.js';
import { backendMode, type BackendMode } from './credential-env.js';

export interface PlanOptions {
  env: NodeJS.ProcessEnv;
  simulateAll: boolean;
  /** Where the simulator answers for a backend. */
  simulatorBaseURL(route: string, backend: string): string;
}

/** How each backend of a table is served, in table order. */
export function planOf(table: RoutingTable, o: PlanOptions): { backend: TableBackend; mode: BackendMode }[] {
  return table.backends.map((backend) => ({ backend, mode: backendMode(backend, o.env, o.simulateAll) }));
}

/** The table as local mode serves it: simulated backends point at the simulator and carry no credential. */
export function rewriteForLocal(table: RoutingTable, o: PlanOptions): RoutingTable {
  return {
    ...table,
    backends: table.backends.map((b) => {
      if (backendMode(b, o.env, o.simulateAll).mode === 'real') return b;
      const { auth: _auth, apiVersion: _apiVersion, ...rest } = b;
      return { ...rest, provider: 'openai-compatible', baseURL: o.simulatorBaseURL(table.route.name, b.name) };
    }),
  };
}
