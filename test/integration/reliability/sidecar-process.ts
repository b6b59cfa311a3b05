/**
 * A sidecar as its own process (`modelroute sidecar`), for tests that measure its memory and handles apart
 * from the test's own: RSS from /proc, open file descriptors from /proc/<pid>/fd.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { startSidecarProcess } from '../e2e/cli-process.js';
import { DATA_KEY, NS } from '../sidecar/support.js';

export interface SidecarProcess {
  baseURL: string;
  url: string;
  admin: string;
  pid: number;
  /** Resident memory in MB. */
  rssMB(): number;
  /** Open file descriptors (sockets included). */
  fds(): number;
  logs: string[];
  stop(): Promise<void>;
}

export async function startSidecarChild(redisURL: string, env: Record<string, string> = {}): Promise<SidecarProcess> {
  const p = await startSidecarProcess({
    redisURL,
    namespace: NS,
    env: { MODELROUTE_DATA_KEY: DATA_KEY.toString('base64'), ...env },
  });
  const pid = p.child.pid!;
  return {
    baseURL: p.ready.baseURL,
    url: p.ready.baseURL.replace(/\/v1$/, ''),
    admin: p.ready.admin,
    pid,
    rssMB() {
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      return Math.round(kb / 102.4) / 10;
    },
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    logs: p.logs,
    stop: () => p.stop(),
  };
}
