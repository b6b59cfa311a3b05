import { createServer } from 'node:net';

// Ports handed out by this process: the kernel may give a just-closed port to the next bind(0).
const handedOut = new Set<number>();

/**
 * A loopback port that was free a moment ago (bind 127.0.0.1:0, read the port, close).
 * For servers that cannot listen on port 0 themselves; callers retry when the port was taken meanwhile.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const p = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
