/**
 * The admin port, separate from the API port so probes and scrapes never queue behind model calls:
 * /healthz (the process answers), /readyz (a first table is loaded), /metrics, /debug/tables (no credentials).
 */
import { createServer, type Server } from 'node:http';
import type { RoutingTable } from '../core/api/types.js';
import type { Metrics } from './metrics.js';
import type { TableStore } from './table-store.js';

export function createAdminServer(store: TableStore, metrics: Metrics, beforeScrape: () => void): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v, null, 2));
    };
    if (req.method !== 'GET') return json(405, { error: 'GET only' });
    switch (path) {
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/readyz':
        return store.ready()
          ? json(200, { status: 'ready', tables: store.current().length })
          : json(503, { status: 'not ready: no routing table loaded yet' });
      case '/metrics':
        beforeScrape();
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(text);
          },
          (err: unknown) => json(500, { error: (err as Error).message }),
        );
        return;
      case '/debug/tables':
        return json(200, { tables: store.current().map(redact) });
      default:
        return json(404, { error: `no ${path}; try /healthz, /readyz, /metrics, /debug/tables` });
    }
  });
}

/** A table without anything derived from a credential (sealed bytes included). */
export function redact(t: RoutingTable): unknown {
  return {
    ...t,
    backends: t.backends.map(({ auth, ...b }) => ({
      ...b,
      ...(auth && {
        auth: { header: auth.header, ...(auth.ref && { ref: auth.ref }), sealed: auth.sealed !== undefined },
      }),
    })),
  };
}
