import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestEnvError } from './errors.js';

/** How a managed server process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running server started by the helpers, logging to a file, killed when this process ends. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | undefined;
  /** Resolves when the process exits (whoever ended it). */
  readonly exited: Promise<ExitInfo>;
  /** Aborted when the process exits: pass to waitFor so a crashed server fails fast. */
  readonly exitSignal: AbortSignal;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string;
}

const live = new Set<ChildProcess>();
let hooksInstalled = false;

/** Pids of the servers this process has started and that are still running. */
export function managedPids(): number[] {
  return [...live].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

// Children die with this process: on a normal exit, on Ctrl-C and on SIGTERM (as jest sends to workers).
// A SIGKILLed parent cannot run handlers: the watchdog below covers that case.
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      killAllNow();
      process.exit(code);
    });
  }
}

// A tiny shell per server holds the read end of a pipe whose write end only this process has. If this
// process dies in any way, the pipe closes, `read` fails and the watchdog SIGKILLs the server. A clean
// stop first writes a line, which makes `read` succeed and the watchdog leave quietly.
function startWatchdog(pid: number): () => void {
  const dog = spawn('bash', ['-c', 'read -r _ || kill -9 "$1" 2>/dev/null', 'modelroute-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  dog.unref();
  const stdin = dog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.unref?.();
  dog.on('error', () => undefined);
  stdin?.on('error', () => undefined);
  let disarmed = false;
  return () => {
    if (disarmed) return;
    disarmed = true;
    stdin?.end('ok\n');
  };
}

/** A fresh temporary directory for one server's data, certificates and logs. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `modelroute-${prefix}-`));
}

export function removeDir(dir: string): void {
  if (process.env.MODELROUTE_KEEP_TEST_DIRS) return;
  rmSync(dir, { recursive: true, force: true });
}

export function tailFile(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: readonly string[];
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a server with stdout and stderr appended to `logPath`, registered for cleanup. */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installExitHooks();
  const fd = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const controller = new AbortController();
  let info: ExitInfo | undefined;
  let disarm: () => void = () => undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    const done = (value: ExitInfo): void => {
      if (info) return;
      info = value;
      live.delete(child);
      disarm();
      controller.abort(
        new TestEnvError('TEST_ENV_START_FAILED', `${opts.name} exited (${value.signal ?? value.code})`),
      );
      resolve(value);
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', (err) => {
      controller.abort(err);
      done({ code: null, signal: null });
    });
  });
  if (child.pid !== undefined) {
    live.add(child);
    disarm = startWatchdog(child.pid);
  }
  // The helpers' owner keeps the event loop alive; a forgotten server must not hang the test run.
  child.unref();

  const end = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (info) return;
    child.ref();
    child.kill(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else {
      await exited;
    }
  };

  return {
    name: opts.name,
    pid: child.pid ?? -1,
    logPath: opts.logPath,
    exitInfo: () => info,
    exited,
    exitSignal: controller.signal,
    stop: (graceMs = 10_000) => end('SIGTERM', graceMs),
    kill: () => end('SIGKILL', 0),
    logTail: (lines) => tailFile(opts.logPath, lines),
  };
}

/** Wraps a readiness wait: on failure the error names the server and carries the tail of its log. */
export async function startFailure(proc: ManagedProcess, err: unknown): Promise<never> {
  await proc.kill();
  const reason = err instanceof Error ? err.message : String(err);
  throw new TestEnvError(
    'TEST_ENV_START_FAILED',
    `${proc.name} failed to start: ${reason}\n--- ${proc.logPath} (tail) ---\n${proc.logTail()}`,
    { cause: err },
  );
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short-lived command to completion, collecting its output (never throws on a non-zero exit). */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** runCommand that throws TEST_ENV_COMMAND_FAILED on a non-zero exit. */
export async function mustRun(command: string, args: readonly string[], opts?: { stdin?: string; cwd?: string }) {
  const result = await runCommand(command, args, opts);
  if (result.code !== 0) {
    throw new TestEnvError(
      'TEST_ENV_COMMAND_FAILED',
      `${command} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result;
}

/**
 * Retries a start that failed because a port chosen by freePort() was taken before the server bound it
 * (another process won the race): each attempt picks new ports.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const clash =
        err instanceof TestEnvError &&
        err.code === 'TEST_ENV_START_FAILED' &&
        /address already in use/i.test(err.message);
      if (!clash || attempt >= attempts) throw err;
    }
  }
}
