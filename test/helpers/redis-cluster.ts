/**
 * A real Redis Cluster on loopback: six redis-server processes in cluster mode (three masters, one replica
 * each), joined with `redis-cli --cluster create`. Every process is killed when the test process ends.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binPath } from './bin.js';
import { freePort } from './ports.js';
import { makeTempDir, removeDir, spawnManaged, startFailure, tailFile, type ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  kill(): Promise<void>;
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** `{ host, port }` of every node, for ioredis.Cluster. */
  startupNodes: { host: string; port: number }[];
  /** Runs redis-cli against one node; resolves with stdout. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Ports of the masters that serve slots, as CLUSTER NODES says now (asked of a live node). */
  masters(): Promise<number[]>;
  stop(): Promise<void>;
}

/** A free port whose cluster bus port (port + 10000) is a valid port and free too. */
async function clusterPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = await freePort();
    if (p + 10_000 > 65_535) continue;
    const bus = await new Promise<boolean>((resolve) => {
      void import('node:net').then(({ createServer }) => {
        const s = createServer();
        s.once('error', () => resolve(false));
        s.listen(p + 10_000, '127.0.0.1', () => s.close(() => resolve(true)));
      });
    });
    if (bus) return p;
  }
  throw new Error('no free port pair for a cluster node');
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = makeTempDir('redis-cluster');
  const procs: ManagedProcess[] = [];
  const ports: number[] = [];
  const redisCli = 'redis-cli';
  const cli = async (port: number, ...args: string[]) =>
    (await run(redisCli, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 20_000 })).stdout;
  try {
    for (let i = 0; i < 6; i++) {
      const port = await clusterPort();
      const p = spawnManaged({
        name: `redis-cluster :${port}`,
        command: binPath('redis-server'),
        args: [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '1000',
          '--dir',
          dir,
          '--dbfilename',
          `dump-${port}.rdb`,
          '--appendonly',
          'yes',
          '--appendfilename',
          `aof-${port}.aof`,
          '--appenddirname',
          `aof-${port}`,
          '--save',
          '',
          '--protected-mode',
          'no',
          '--daemonize',
          'no',
        ],
        logPath: join(dir, `redis-${port}.log`),
      });
      procs.push(p);
      ports.push(port);
      await waitFor(() => /Ready to accept connections/.test(tailFile(p.logPath, 1000)), {
        timeoutMs: 15_000,
        intervalMs: 20,
        message: `cluster node ${port}`,
        signal: p.exitSignal,
      }).catch((err: unknown) => startFailure(p, err));
    }
    await run(
      redisCli,
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 30_000 },
    );
    await waitFor(
      async () => {
        for (const p of ports) {
          if (!(await cli(p, 'cluster', 'info')).includes('cluster_state:ok')) return false;
          // Converged: every node sees all six, each link up (PUBLISH only crosses links that are up).
          const lines = (await cli(p, 'cluster', 'nodes')).trim().split('\n');
          if (lines.length !== 6 || !lines.every((l) => / connected/.test(l))) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'cluster_state:ok and every link up on every node' },
    );
  } catch (err) {
    await Promise.all(procs.map((p) => p.kill()));
    removeDir(dir);
    throw err;
  }
  const alive = new Set(ports);
  return {
    nodes: ports.map((port, i) => ({
      port,
      async kill() {
        alive.delete(port);
        await procs[i]!.kill();
      },
    })),
    startupNodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    cli,
    async masters() {
      const out = await cli([...alive][0]!, 'cluster', 'nodes');
      return out
        .split('\n')
        .filter((l) => /\bmaster\b/.test(l) && !/\bfail\b/.test(l) && l.trim().split(' ').length > 8)
        .map((l) => Number(/127\.0\.0\.1:(\d+)@/.exec(l)?.[1]))
        .filter((p) => alive.has(p));
    },
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
      removeDir(dir);
    },
  };
}
