/**
 * `modelroute <role>` as a child process, the way a pod runs it: `node --import tsx cli/main.ts ...` (not `npx tsx`,
 * so the pid is the process itself), with an environment of our choosing (the OTEL_* variables under test) and its
 * stderr collected line by line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliProcess<T> {
  child: ChildProcess;
  /** What `ready` extracted from the start log line. */
  ready: T;
  /** stderr lines so far. */
  logs: string[];
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface CliOptions<T> {
  role: 'operator' | 'sidecar';
  args: string[];
  /**
   * Added to a copy of this process's environment, from which every OTEL_* variable was removed first. Without any
   * OTEL_* variable here, tracing is off (OTEL_TRACES_EXPORTER=none) rather than exporting to localhost:4318.
   */
  env: Record<string, string>;
  /** Finds the start line and extracts what the test needs from it (e.g. the admin URL). */
  ready: (line: string) => T | undefined;
  timeoutMs?: number;
}

export async function startCli<T>(o: CliOptions<T>): Promise<CliProcess<T>> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_')) env[k] = v;
  if (!Object.keys(o.env).some((k) => k.startsWith('OTEL_'))) env.OTEL_TRACES_EXPORTER = 'none';
  Object.assign(env, o.env);
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', o.role, ...o.args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const stop = async (graceMs = 5_000) => {
    if (dead) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    const ready = await waitFor(
      () => {
        if (dead) throw new Error(`${o.role} exited:\n${logs.join('\n')}`);
        for (const line of logs) {
          const v = o.ready(line);
          if (v !== undefined) return { v };
        }
        return undefined;
      },
      { timeoutMs: o.timeoutMs ?? 60_000, message: () => `${o.role} start line; logs:\n${logs.join('\n')}` },
    );
    return { child, ready: ready.v, logs, exited, stop };
  } catch (err) {
    await stop(0);
    throw err;
  }
}

/** Starts `modelroute sidecar` on free ports; resolves with its API and admin URLs once it logged them. */
export function startSidecarProcess(opts: {
  redisURL: string;
  namespace: string;
  env: Record<string, string>;
  /** More flags (e.g. --redis-ca, --state-file). */
  args?: string[];
}) {
  return startCli({
    role: 'sidecar',
    args: [
      '--listen=127.0.0.1:0',
      '--admin=127.0.0.1:0',
      `--redis=${opts.redisURL}`,
      `--namespace=${opts.namespace}`,
      '--check-interval-ms=200',
      '--flush-ms=100',
      '--drain-ms=2000',
      ...(opts.args ?? []),
    ],
    env: opts.env,
    ready: (line) => {
      const m = /serving (http:\/\/[^ ]+\/v1) \(admin (http:\/\/[^ )]+)\)/.exec(line);
      return m ? { baseURL: m[1]!, admin: m[2]! } : undefined;
    },
  });
}

/** Starts `modelroute operator` watching one namespace; resolves with its admin URL once it logged it. */
export function startOperatorProcess(opts: {
  kubeconfig: string;
  redisURL: string;
  namespace: string;
  env: Record<string, string>;
  /** More flags (e.g. --redis-cluster). */
  args?: string[];
}) {
  return startCli({
    role: 'operator',
    args: [
      '--admin',
      '127.0.0.1:0',
      '--kubeconfig',
      opts.kubeconfig,
      '--redis',
      opts.redisURL,
      '--namespaces',
      opts.namespace,
      ...(opts.args ?? []),
    ],
    env: opts.env,
    ready: (line) => {
      if (!line.includes('operator started')) return undefined;
      try {
        return { admin: (JSON.parse(line) as { admin: string }).admin };
      } catch {
        return undefined;
      }
    },
  });
}
