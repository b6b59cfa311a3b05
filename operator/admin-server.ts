/** /healthz (the process is alive), /readyz (caches synced, Redis connected) and /metrics on the admin address. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';

export interface AdminTarget {
  readonly ready: boolean;
  readonly isLeader: boolean;
  readonly metrics: { registry: Registry };
}

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

export async function startAdminServer(target: AdminTarget, host: string, port: number): Promise<AdminServer> {
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    // A standby is ready too: its caches are warm and it can take over at once.
    res.status(target.ready ? 200 : 503).json({ ready: target.ready, leader: target.isLeader });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(target.metrics.registry.contentType).send(await target.metrics.registry.metrics());
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
