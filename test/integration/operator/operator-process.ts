/**
 * `modelroute operator` as a child process, the way it runs in a pod. Started with `node --import tsx` rather
 * than `npx tsx`, so the pid is the operator itself and SIGKILL really kills it (tsx's CLI would fork a child).
 * Built on the shared startCli (test/integration/e2e/cli-process.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { startCli } from '../e2e/cli-process.js';

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
  const p = await startCli({
    role: 'operator',
    args: ['--admin', '127.0.0.1:0', ...args],
    env: {},
    ready: (line) => (line.includes('operator started') ? (JSON.parse(line) as { admin: string }).admin : undefined),
    timeoutMs: 30_000,
  });
  let dead = false;
  void p.exited.then(() => (dead = true));
  return {
    child: p.child,
    admin: p.ready,
    logs: p.logs,
    exited: p.exited,
    async metric(name: string) {
      const text = await (await fetch(`${p.ready}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`).exec(line);
        if (m) sum += Number(m[1]);
      }
      return sum;
    },
    kill(signal) {
      if (!dead) p.child.kill(signal);
    },
  };
}
