/**
 * Where local mode finds a backend's credential, and so whether the backend is called for real or simulated.
 * A cluster keeps keys in Secrets; on a laptop they live in environment variables. The names are fixed so the
 * choice is predictable and printed on the banner:
 *
 *   credentialsSecretRef {name, key}  ->  MODELROUTE_CREDENTIAL_<NAME>_<KEY>  (the sidecar's own resolver name)
 *   provider openai                   ->  OPENAI_API_KEY, when the variable above is unset
 *   provider azure-openai             ->  AZURE_OPENAI_API_KEY, when the variable above is unset
 */
import type { SecretKeyRef, TableBackend } from '../core/api/types.js';
import { envNameOf } from '../sidecar/credentials.js';

const CONVENIENCE: Partial<Record<TableBackend['provider'], string>> = {
  openai: 'OPENAI_API_KEY',
  'azure-openai': 'AZURE_OPENAI_API_KEY',
};

/** Host suffixes that only resolve inside a cluster: calling them from a laptop can only fail. */
const CLUSTER_ONLY = /\.(svc|svc\.cluster\.local|cluster\.local)$/i;

export type BackendMode = { mode: 'real'; why: string } | { mode: 'simulated'; why: string };

/** The variables tried for a backend's credential, in order. */
export function credentialEnvNames(ref: SecretKeyRef, provider: TableBackend['provider']): string[] {
  const convenience = CONVENIENCE[provider];
  return [envNameOf(ref), ...(convenience ? [convenience] : [])];
}

/** The first non-empty credential variable, or undefined. */
export function credentialFromEnv(
  ref: SecretKeyRef,
  provider: TableBackend['provider'],
  env: NodeJS.ProcessEnv,
): { name: string; value: string } | undefined {
  for (const name of credentialEnvNames(ref, provider)) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

/**
 * Real when the backend needs no credential and is reachable from here, or when its credential is in the
 * environment; simulated otherwise, or always with `simulateAll` (`--simulate`).
 */
export function backendMode(b: TableBackend, env: NodeJS.ProcessEnv, simulateAll: boolean): BackendMode {
  if (simulateAll) return { mode: 'simulated', why: '--simulate' };
  const ref = b.auth?.ref;
  if (ref) {
    const found = credentialFromEnv(ref, b.provider, env);
    if (found) return { mode: 'real', why: `key from $${found.name}` };
    return { mode: 'simulated', why: `no $${credentialEnvNames(ref, b.provider).join(' or $')}` };
  }
  if (b.auth?.sealed) return { mode: 'simulated', why: 'sealed credential (cluster only)' };
  const host = new URL(b.baseURL).hostname;
  if (CLUSTER_ONLY.test(host)) return { mode: 'simulated', why: `${host} resolves only inside a cluster` };
  return { mode: 'real', why: 'needs no credential' };
}
