import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startJaeger, type JaegerHandle } from './jaeger.js';
import { launchKube, type KubeHandle } from './kube-launch.js';
import { makeTempDir, removeDir } from './processes.js';
import { startRedis } from './redis.js';

// Loaded by global-setup.mjs through tsx: keep @kubernetes/client-node out of this module's imports.

/** Env var naming the JSON file through which global-setup hands the shared servers to test files. */
export const SHARED_SERVERS_ENV = 'MODELROUTE_TEST_SERVERS';

/** What the state file holds per shared server. */
export interface SharedHandles {
  redis: { url: string; port: number; ca?: string };
  kube: KubeHandle;
  jaeger: JaegerHandle;
}
export type SharedServerName = keyof SharedHandles;
export type SharedState = { [K in SharedServerName]?: SharedHandles[K] | { error: string } };

/**
 * Starts the servers shared by a whole jest run (global-setup) and writes their handles to a file.
 * A server that fails to start is recorded, so only the tests that need it fail, with its error.
 */
export async function startSharedServers(
  names: readonly SharedServerName[] = ['redis', 'kube', 'jaeger'],
  log: (line: string) => void = () => undefined,
): Promise<{ statePath: string; stop(): Promise<void> }> {
  const dir = makeTempDir('shared');
  const stops: Array<() => Promise<void>> = [];
  const state: SharedState = {};
  const timed = async <T extends { stop(): Promise<void> }>(name: SharedServerName, start: () => Promise<T>) => {
    const t0 = Date.now();
    try {
      const server = await start();
      stops.push(() => server.stop());
      log(`${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      return server;
    } catch (err) {
      log(`${name} FAILED: ${err instanceof Error ? err.message : String(err)}`);
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };
  await Promise.all([
    names.includes('redis') &&
      timed('redis', startRedis).then((r) => {
        state.redis = 'error' in r ? r : { url: r.url, port: r.port };
      }),
    names.includes('kube') &&
      timed('kube', () => launchKube({ controllerManager: true })).then((k) => {
        state.kube = 'error' in k ? k : k.handle;
      }),
    names.includes('jaeger') &&
      timed('jaeger', startJaeger).then((j) => {
        state.jaeger = 'error' in j ? j : { otlpHttpEndpoint: j.otlpHttpEndpoint, queryUrl: j.queryUrl };
      }),
  ]);
  const statePath = join(dir, 'servers.json');
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  return {
    statePath,
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
      removeDir(dir);
    },
  };
}
