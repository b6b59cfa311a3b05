/**
 * One keep-alive connection pool per upstream origin (and connect timeout), shared by every route that names
 * it, so a busy backend is reached over warm connections and TLS handshakes are rare.
 *
 * Aborted streams leave nothing behind. Aborting a request (the client hung up) destroys its socket, but undici
 * 7 leaves the aborted request queued on that pool client for a moment and opens a fresh connection for it,
 * which then idles until the keep-alive timeout: a burst of N hang-ups would leave N idle upstream
 * connections. A connection is only ever opened for a queued request, and undici writes that request as soon as
 * the socket is handed over; so a socket on which nothing was written once the connect callback has run was
 * opened for a request that is gone, and is closed at once. Idle connections are then only those that served a
 * request, bounded by the peak concurrency (and by `connections`) for `keepAliveTimeoutMs`.
 */
import type { buildConnector as BuildConnector, Pool as PoolType } from 'undici';
import { Pool, buildConnector } from './undici-pool.js';

export class UpstreamPools {
  private readonly pools = new Map<string, PoolType>();

  constructor(private readonly opts: { connections?: number; keepAliveTimeoutMs?: number } = {}) {}

  get(origin: string, connectMs: number): PoolType {
    const key = `${origin}|${connectMs}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.opts.connections ?? 256,
        keepAliveTimeout: this.opts.keepAliveTimeoutMs ?? 30_000,
        connect: this.connector(connectMs),
        // Per-request timeouts are set on each call from the backend's table entry.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.destroy()));
  }

  private connector(connectMs: number): BuildConnector.connector {
    const connect = buildConnector({ timeout: connectMs });
    return (options, callback) =>
      connect(options, (err, socket) => {
        if (err) return callback(err, null);
        // undici attaches the socket and writes its queued request synchronously inside this callback.
        callback(null, socket);
        if (socket.bytesWritten === 0 && !socket.destroyed) socket.destroy();
      });
  }
}
