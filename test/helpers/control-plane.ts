/**
 * The real control plane for tests: redis-server, etcd + kube-apiserver (+ kube-controller-manager) and
 * Jaeger, built by scripts/test-env.sh and started on loopback ports chosen at run time.
 *
 * - `startX()` starts a private server for one test file: stop it in afterAll.
 * - `sharedX()` connects to the server started once per jest run by global-setup: do not stop it, and
 *   keep to your own keys, namespaces and service names.
 * Every child process is killed when the process that started it ends, however it ends.
 */
export { startRedis, type RedisOptions, type RedisServer } from './redis.js';
export { startKube, type Kube, type KubeOptions } from './kube.js';
export { startJaeger, type FindTracesOptions, type Jaeger } from './jaeger.js';
export { sharedJaeger, sharedKube, sharedRedis } from './shared.js';
export { helm } from './tools.js';
export { binDir, binPath, type TestBinary } from './bin.js';
export { TestEnvError, type TestEnvErrorCode } from './errors.js';
export { type CommandResult } from './processes.js';
export { freePort } from './ports.js';
export { waitFor, type WaitOptions } from './wait.js';
