/**
 * A loopback TCP proxy the tests put between the operator and the apiserver, to break connections the way
 * networks do: `cut()` resets every open connection (a dropped watch), `stall()` keeps them open but silently
 * stops forwarding (a half-open connection no error ever reports). New connections always go through.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Destroys every open connection. */
  cut(): void;
  /** Stops forwarding on every open connection, without closing it. */
  stall(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; stalled: boolean }>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, stalled: false };
    pairs.add(pair);
    client.on('data', (d) => pair.stalled || upstream.write(d));
    upstream.on('data', (d) => pair.stalled || client.write(d));
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    // A stalled connection does not even pass on the server's close: the client must find out by itself.
    upstream.on('close', () => pair.stalled || end()).on('error', () => pair.stalled || end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    cut() {
      for (const p of pairs) {
        p.client.resetAndDestroy();
        p.upstream.destroy();
      }
      pairs.clear();
    },
    stall() {
      for (const p of pairs) p.stalled = true;
    },
    close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
