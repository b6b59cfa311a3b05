/**
 * Child processes of the bench programs: Node programs run through tsx (so each server has its own core
 * and its own pid for RSS and CPU readings), plus readings from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { waitFor } from '../../test/helpers/wait.js';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * `node --import tsx <args>` (or plain `node <args>` for compiled JavaScript, `tsx: false`) with cwd at the
 * repository root; stderr is prefixed and passed through.
 */
export function spawnNode(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  opts: { tsx?: boolean; nodeFlags?: string[] } = {},
): ChildProcess {
  const p = spawn(
    process.execPath,
    [...(opts.nodeFlags ?? []), ...(opts.tsx === false ? [] : ['--import', 'tsx']), ...args],
    {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.add(p);
  p.on('exit', () => children.delete(p));
  p.stderr?.on('data', (d: Buffer) => {
    const text = d.toString().trimEnd();
    if (!/serving|listening|minimal proxy on/.test(text)) process.stderr.write(`[${name}] ${text}\n`);
  });
  return p;
}

export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(t);
}

/** Resident set size of a process, MB, from /proc (includes what V8 has not yet returned to the OS). */
export function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from after the command name (which starts at field 3).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resolves when `url` answers `status` (any answer when omitted). */
export async function waitHttp(url: string, status?: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const r = await fetch(url).catch(() => undefined);
      if (!r) return false;
      await r.arrayBuffer();
      return status === undefined || r.status === status;
    },
    { timeoutMs, intervalMs: 50, message: url },
  );
}
