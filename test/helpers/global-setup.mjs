// Plain ESM on purpose: jest loads globalSetup with Node's own loader (no moduleNameMapper), so the
// TypeScript helpers are loaded through tsx, which resolves their `./x.js` imports to `./x.ts`.
import process from 'node:process';
import { tsImport } from 'tsx/esm/api';

/**
 * Starts the shared Redis, kube-apiserver (+ controller-manager) and Jaeger once per jest run and hands
 * them to test files through the file named by MODELROUTE_TEST_SERVERS (see shared.ts).
 * MODELROUTE_SHARED_SERVERS=redis,kube limits which ones start (default: all three).
 */
export default async function globalSetup() {
  const { SHARED_SERVERS_ENV, startSharedServers } = await tsImport('./shared-servers.ts', import.meta.url);
  const known = ['redis', 'kube', 'jaeger'];
  const names = (process.env.MODELROUTE_SHARED_SERVERS ?? known.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter((name) => known.includes(name));
  const started = Date.now();
  const shared = await startSharedServers(names, (line) => process.stderr.write(`[control-plane] ${line}\n`));
  process.stderr.write(`[control-plane] shared servers up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  process.env[SHARED_SERVERS_ENV] = shared.statePath;
  globalThis.__modelrouteSharedServers = shared;
}
