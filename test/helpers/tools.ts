import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { binPath } from './bin.js';
import { makeTempDir, runCommand, type CommandResult } from './processes.js';

let helmHome: string | undefined;

/**
 * Runs the provisioned helm; never throws on a non-zero exit. Helm's cache, config and data live in a
 * per-process temp dir, so tests never read or write the user's ~/.config/helm.
 */
export function helm(args: string[], opts: { kubeconfigPath?: string; cwd?: string } = {}): Promise<CommandResult> {
  helmHome ??= makeTempDir('helm-home');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const kind of ['CACHE', 'CONFIG', 'DATA'] as const) {
    const dir = join(helmHome, kind.toLowerCase());
    mkdirSync(dir, { recursive: true });
    env[`HELM_${kind}_HOME`] = dir;
  }
  if (opts.kubeconfigPath) env.KUBECONFIG = opts.kubeconfigPath;
  return runCommand(binPath('helm'), args, { env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}
