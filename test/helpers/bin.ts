import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TestEnvError } from './errors.js';

/** Binaries that scripts/test-env.sh provisions. */
export type TestBinary =
  'redis-server' | 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl' | 'helm' | 'jaeger';

/** The bin directory of scripts/test-env.sh (same resolution as the script). */
export function binDir(): string {
  const cache =
    process.env.MODELROUTE_TEST_ENV ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'modelroute/test-env');
  return join(cache, 'bin');
}

/** Absolute path of a provisioned binary; TEST_ENV_MISSING_BINARY names the command that builds it. */
export function binPath(name: TestBinary): string {
  const path = join(binDir(), name);
  if (!existsSync(path)) {
    throw new TestEnvError(
      'TEST_ENV_MISSING_BINARY',
      `${path} is missing: run \`bash scripts/test-env.sh${name === 'redis-server' ? ' redis' : ` ${name}`}\``,
    );
  }
  return path;
}
