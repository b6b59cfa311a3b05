import { join } from 'node:path';
import { binPath } from './bin.js';
import { makeCa, makeCert, readPem } from './certs.js';
import { freePort } from './ports.js';
import {
  makeTempDir,
  removeDir,
  retryOnPortClash,
  spawnManaged,
  startFailure,
  type ManagedProcess,
} from './processes.js';
import { tailFile } from './processes.js';
import { waitFor } from './wait.js';

export interface RedisOptions {
  /** requirepass; the url then carries it (`redis://:password@127.0.0.1:port`). */
  password?: string;
  /** Serve TLS only, with a fresh CA: the url is `rediss://` and `ca` holds the CA's PEM. */
  tls?: boolean;
}

/** A real redis-server on 127.0.0.1, with its own data directory (AOF on, so restarts keep data). */
export interface RedisServer {
  url: string;
  port: number;
  /** PEM of the CA that signed the server certificate (tls only). */
  ca?: string;
  /** Graceful shutdown (SIGTERM) and removal of the data directory. */
  stop(): Promise<void>;
  /** SIGKILL, keeping the data directory: simulates a crash. */
  kill(): Promise<void>;
  /** Stops it if running and starts it again on the same port with the same data directory. */
  restart(): Promise<void>;
}

/** Starts a private redis-server for one test file; pair with `stop()` in afterAll. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const dir = makeTempDir('redis');
  let ca: string | undefined;
  let tlsArgs: string[] = [];
  if (opts.tls) {
    const authority = await makeCa(dir, 'modelroute-test-redis-ca');
    const cert = await makeCert(dir, 'redis', authority, {
      commonName: 'localhost',
      subjectAltNames: ['IP:127.0.0.1', 'DNS:localhost'],
    });
    ca = readPem(authority.certPath);
    tlsArgs = ['--tls-cert-file', cert.certPath, '--tls-key-file', cert.keyPath];
    tlsArgs.push('--tls-ca-cert-file', authority.certPath, '--tls-auth-clients', 'no');
  }
  const password = opts.password;
  let port = 0;
  let url = '';
  let proc: ManagedProcess | undefined;
  let generation = 0;

  const launch = async (): Promise<void> => {
    generation += 1;
    const listen = opts.tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
    const p = spawnManaged({
      name: `redis-server :${port}`,
      command: binPath('redis-server'),
      args: [
        ...listen,
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
        '--loglevel',
        'notice',
        ...(password ? ['--requirepass', password] : []),
        ...tlsArgs,
      ],
      logPath: join(dir, `redis-${generation}.log`),
    });
    proc = p;
    try {
      // Redis logs this line once it listens; reading the log keeps the helper free of client timers.
      await waitFor(() => /Ready to accept connections/.test(tailFile(p.logPath, 1000)), {
        timeoutMs: 15_000,
        intervalMs: 20,
        message: `redis on port ${port}`,
        signal: p.exitSignal,
      });
    } catch (err) {
      await startFailure(p, err);
    }
  };

  await retryOnPortClash(async () => {
    port = await freePort();
    const auth = password ? `:${encodeURIComponent(password)}@` : '';
    url = `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`;
    await launch();
  });

  return {
    url,
    port,
    ...(ca ? { ca } : {}),
    async stop() {
      await proc?.stop();
      removeDir(dir);
    },
    async kill() {
      await proc?.kill();
    },
    async restart() {
      await proc?.stop();
      await launch();
    },
  };
}
