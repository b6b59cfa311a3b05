/**
 * The baseline for bench/proxy.ts: the least a Node proxy can do and still be a router. It reads and parses
 * the JSON body, rewrites `model`, forwards over a keep-alive undici Pool and pipes the answer back (SSE
 * included). No routing table, no usage, no metrics: the sidecar's overhead is judged against this one's.
 *
 *   tsx bench/minimal-proxy.ts --port 18000 --upstream http://127.0.0.1:18001
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

export async function startMinimalProxy(upstream: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 30_000 });
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      } catch {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"error":{"message":"bad json","type":"invalid_request_error","code":"invalid_json"}}');
        return;
      }
      body.model = 'upstream-model';
      pool
        .request({
          path: req.url ?? '/',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        .then((r) => {
          res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'application/json') });
          pipeline(r.body, res, () => undefined);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  server.on('connection', (s) => s.setNoDelay(true));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.close();
    },
  };
}

if (process.argv[1]?.endsWith('minimal-proxy.ts')) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? undefined : process.argv[i + 1];
  };
  const upstream = arg('--upstream');
  if (!upstream) {
    console.error('usage: tsx bench/minimal-proxy.ts --port <n> --upstream <url>');
    process.exit(2);
  }
  const p = await startMinimalProxy(upstream, Number(arg('--port') ?? 0));
  console.log(`minimal proxy on ${p.url} -> ${upstream}`);
  process.once('SIGTERM', () => void p.close().then(() => process.exit(0)));
}
