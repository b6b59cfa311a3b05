import { readFileSync } from 'node:fs';
import { TestEnvError } from './errors.js';
import { attachJaeger, startJaeger, type Jaeger } from './jaeger.js';
import { attachKube, startKube, type Kube } from './kube.js';
import { startRedis, type RedisServer } from './redis.js';
import { SHARED_SERVERS_ENV, type SharedHandles, type SharedServerName, type SharedState } from './shared-servers.js';

function sharedEntry<K extends SharedServerName>(name: K): SharedHandles[K] | undefined {
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
  return entry as SharedHandles[K];
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
const fallbacks = new Map<SharedServerName, Promise<unknown>>();
function fallback<T>(name: SharedServerName, start: () => Promise<T>): Promise<T> {
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
