import { join } from 'node:path';
import { binPath } from './bin.js';
import { freePort } from './ports.js';
import { spawnManaged, startFailure, type ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

/** A single-member etcd on loopback, for one kube-apiserver. */
export interface Etcd {
  clientUrl: string;
  process: ManagedProcess;
}

/** Starts etcd with its data under `dir`; fsync is off (test data is disposable). */
export async function startEtcd(dir: string): Promise<Etcd> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const proc = spawnManaged({
    name: `etcd :${clientPort}`,
    command: binPath('etcd'),
    args: [
      '--name=test',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logPath: join(dir, 'etcd.log'),
  });
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${clientUrl}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      { timeoutMs: 30_000, intervalMs: 100, message: `etcd health at ${clientUrl}`, signal: proc.exitSignal },
    );
  } catch (err) {
    await startFailure(proc, err);
  }
  return { clientUrl, process: proc };
}
