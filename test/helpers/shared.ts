import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestEnvError } from './errors.js';
import { attachJaeger, startJaeger, type Jaeger, type JaegerHandle } from './jaeger.js';
import { attachKube, startKube, type Kube, type KubeHandle } from './kube.js';
import { makeTempDir, removeDir } from './processes.js';
import { startRedis, type RedisServer } from './redis.js';

/** Env var naming the JSON file through which global-setup hands the shared servers to test files. */
export const SHARED_SERVERS_ENV = 'MODELROUTE_TEST_SERVERS';

interface Handles {
  redis: { url: string; port: number; ca?: string };
  kube: KubeHandle;
  jaeger: JaegerHandle;
}
type ServerName = keyof Handles;
type SharedState = { [K in ServerName]?: Handles[K] | { error: string } };

/**
 * Starts the servers shared by a whole jest run (global-setup) and writes their handles to a file.
 * A server that fails to start is recorded, so only the tests that need it fail, with its error.
 */
export async function startSharedServers(
  names: readonly ServerName[] = ['redis', 'kube', 'jaeger'],
  log: (line: string) => void = () => undefined,
): Promise<{ statePath: string; stop(): Promise<void> }> {
  const dir = makeTempDir('shared');
  const stops: Array<() => Promise<void>> = [];
  const state: SharedState = {};
  const timed = async <T extends { stop(): Promise<void> }>(name: ServerName, start: () => Promise<T>) => {
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
      timed('kube', () => startKube({ controllerManager: true })).then((k) => {
        state.kube = 'error' in k ? k : { server: k.server, kubeconfigPath: k.kubeconfigPath, ca: k.ca, dir: k.dir };
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

function sharedEntry<K extends ServerName>(name: K): Handles[K] | undefined {
  const path = process.env[SHARED_SERVERS_ENV];
  if (!path) return undefined;
  const state = JSON.parse(readFileSync(path, 'utf8')) as SharedState;
  const entry = state[name];
  if (!entry) {
    throw new TestEnvError('TEST_ENV_SHARED_SERVER', `shared ${name} was not started (see global-setup)`);
  }
  if ('error' in entry) {
    throw new TestEnvError('TEST_ENV_START_FAILED', `shared ${name} failed to start in global-setup: ${entry.error}`);
  }
  return entry as Handles[K];
}

function notForShared(what: string): () => Promise<never> {
  return () =>
    Promise.reject(
      new TestEnvError(
        'TEST_ENV_SHARED_SERVER',
        `${what} on a shared server would break other test files: start your own`,
      ),
    );
}

// Outside a jest run with global-setup (e.g. a script), start private servers once per process instead.
const fallbacks = new Map<ServerName, Promise<unknown>>();
function fallback<T>(name: ServerName, start: () => Promise<T>): Promise<T> {
  let started = fallbacks.get(name) as Promise<T> | undefined;
  if (!started) {
    started = start();
    fallbacks.set(name, started);
  }
  return started;
}

/**
 * The run's shared redis-server. Connect to it; use keys unique to your test file (stop() is a no-op,
 * kill() and restart() are refused: use startRedis() for those).
 */
export async function sharedRedis(): Promise<RedisServer> {
  const entry = sharedEntry('redis');
  const base = entry ?? (await fallback('redis', () => startRedis()));
  return {
    url: base.url,
    port: base.port,
    ...(base.ca ? { ca: base.ca } : {}),
    stop: () => Promise.resolve(),
    kill: notForShared('kill()'),
    restart: notForShared('restart()'),
  };
}

/**
 * The run's shared kube-apiserver (with kube-controller-manager). Use namespaces unique to your test
 * file; stop() is a no-op and restartApiserver() is refused: use startKube() for that.
 */
export async function sharedKube(): Promise<Kube> {
  const entry = sharedEntry('kube');
  const handle = entry ?? (await fallback('kube', () => startKube({ controllerManager: true })));
  return {
    ...attachKube(handle),
    restartApiserver: notForShared('restartApiserver()'),
    stop: () => Promise.resolve(),
  };
}

/** The run's shared Jaeger. Use a service name unique to your test; stop() is a no-op. */
export async function sharedJaeger(): Promise<Jaeger> {
  const entry = sharedEntry('jaeger');
  const handle = entry ?? (await fallback('jaeger', startJaeger));
  return { ...attachJaeger(handle), stop: () => Promise.resolve() };
}
