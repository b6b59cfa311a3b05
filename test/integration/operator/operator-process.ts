/**
 * `modelroute operator` as a child process, the way it runs in a pod. Started with `node --import tsx` rather
 * than `npx tsx`, so the pid is the operator itself and SIGKILL really kills it (tsx's CLI would fork a child).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface OperatorProcess {
  child: ChildProcess;
  /** Admin base URL, from the operator's start log line. */
  admin: string;
  logs: string[];
  exited: Promise<number | null>;
  metric(name: string): Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

export async function spawnOperator(args: string[]): Promise<OperatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'operator', '--admin', '127.0.0.1:0', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  let buffered = '';
  child.stderr?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    logs.push(...lines);
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  const admin = await waitFor(
    () => {
      if (dead) throw new Error(`operator exited:\n${logs.join('\n')}`);
      for (const l of logs) {
        if (!l.includes('operator started')) continue;
        return (JSON.parse(l) as { admin: string }).admin;
      }
      return undefined;
    },
    { timeoutMs: 30_000, message: () => `operator start log line; logs:\n${logs.join('\n')}` },
  );
  return {
    child,
    admin,
    logs,
    exited,
    async metric(name: string) {
      const text = await (await fetch(`${admin}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`).exec(line);
        if (m) sum += Number(m[1]);
      }
      return sum;
    },
    kill(signal) {
      if (!dead) child.kill(signal);
    },
  };
}
