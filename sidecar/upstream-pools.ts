/**
 * One keep-alive connection pool per upstream origin (and connect timeout), shared by every route that names
 * it, so a busy backend is reached over warm connections and TLS handshakes are rare.
 */
import { Pool } from 'undici';

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly opts: { connections?: number; keepAliveTimeoutMs?: number } = {}) {}

  get(origin: string, connectMs: number): Pool {
    const key = `${origin}|${connectMs}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.opts.connections ?? 256,
        keepAliveTimeout: this.opts.keepAliveTimeoutMs ?? 30_000,
        connect: { timeout: connectMs },
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
}
