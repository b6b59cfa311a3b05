/**
 * Starts `modelroute dev` as a real child process (as `npm start` does, through tsx) on free ports, with its
 * output captured so tests can wait for log lines. Provider keys are removed from its environment unless a
 * test passes them, so a developer's OPENAI_API_KEY never sends test traffic to OpenAI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

export interface DevProcess {
  baseURL: string;
  adminURL: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first output line matching `re` at or after `from` (an output() length). */
  waitForLine(re: RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** A temp copy of examples/ (or an empty dir) to point --routes at. */
export function tempRoutes(copyExamples = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelroute-dev-'));
  if (copyExamples) cpSync(join(ROOT, 'examples'), dir, { recursive: true });
  return dir;
}

export function removeRoutes(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/API_KEY$|^MODELROUTE_CREDENTIAL_/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `modelroute <args>` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [TSX, 'cli/main.ts', ...args], { cwd: ROOT, env: cleanEnv(env) });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => done({ code, output }));
  });
}

export async function startDev(o: { routes: string; args?: string[]; env?: NodeJS.ProcessEnv }): Promise<DevProcess> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const args = [
    'cli/main.ts',
    'dev',
    '--routes',
    o.routes,
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    `127.0.0.1:${adminPort}`,
  ];
  // Near-instant simulated models: the tests check behaviour, not timing.
  const child: ChildProcess = spawn(process.execPath, [TSX, ...args, '--latency-scale', '0.01', ...(o.args ?? [])], {
    cwd: ROOT,
    env: cleanEnv(o.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const dev: DevProcess = {
    baseURL: `http://127.0.0.1:${port}/v1`,
    adminURL: `http://127.0.0.1:${adminPort}`,
    output: () => out,
    async waitForLine(re, { from = 0, timeoutMs = 15_000 } = {}) {
      return waitFor(
        () => {
          if (gone) throw new Error('modelroute dev exited');
          return out
            .slice(from)
            .split('\n')
            .find((l) => re.test(l));
        },
        {
          timeoutMs,
          message: () => `a line matching ${re} in modelroute dev's output:\n${out.slice(from).slice(-3000)}`,
        },
      );
    },
    async stop() {
      if (!gone) child.kill('SIGTERM');
      return exited;
    },
    exited,
  };
  try {
    await dev.waitForLine(/^try it:/, { timeoutMs: 60_000 });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return dev;
}
