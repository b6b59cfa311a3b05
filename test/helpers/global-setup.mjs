// Plain ESM: jest loads globalSetup with Node's own loader. The TypeScript helpers run in a child
// process under tsx (shared-daemon.ts), so neither tsx nor its esbuild service lives in jest's process.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath, URL } from 'node:url';

/**
 * Starts the shared Redis, kube-apiserver (+ controller-manager) and Jaeger once per jest run and hands
 * them to test files through the file named by MODELROUTE_TEST_SERVERS (see shared.ts).
 * MODELROUTE_SHARED_SERVERS=redis,kube limits which ones start (default: all three).
 */
export default async function globalSetup() {
  const daemon = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./shared-daemon.ts', import.meta.url))],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: daemon.stdout });
  const ready = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    daemon.once('exit', (code, signal) =>
      reject(new Error(`the shared control plane exited (${signal ?? code}) before it was ready`)),
    );
  });
  lines.close();
  daemon.stdout.destroy();
  process.env.MODELROUTE_TEST_SERVERS = JSON.parse(ready).statePath;
  // Never the reason jest stays alive: teardown stops it, and it stops itself when jest's end of stdin closes.
  daemon.unref();
  daemon.stdin.unref();
  globalThis.__modelrouteSharedDaemon = daemon;
}
