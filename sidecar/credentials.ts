/**
 * Opens backend credentials once per table, when the table is loaded, never per request. A sealed
 * credential is opened with this namespace's data key; an unsealed `ref` (local mode) goes to a pluggable
 * resolver. A backend whose credential cannot be had is marked unusable with the reason: the forwarder
 * skips it like a backend that refuses connections, and the rest of the table keeps routing.
 */
import { openCredential } from '../core/crypto/seal.js';
import type { RoutingTable, SecretKeyRef, TableBackend } from '../core/api/types.js';

export type CredentialResolver = (ref: SecretKeyRef, backend: TableBackend, table: RoutingTable) => string | undefined;

/** What an upstream request carries: a header name and value, or a reason why the backend cannot be called. */
export type BackendAuth = { header: string; value: string } | { error: string } | undefined;

/** `MODELROUTE_CREDENTIAL_<SECRET>_<KEY>` (upper case, non-alphanumerics as `_`). */
export function envCredentialResolver(env: NodeJS.ProcessEnv = process.env): CredentialResolver {
  return (ref) => env[envNameOf(ref)];
}

export function envNameOf(ref: SecretKeyRef): string {
  return `MODELROUTE_CREDENTIAL_${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The namespace's data key, or a function that reads it now (a mounted Secret may appear or rotate later). */
export type DataKeySource = Buffer | (() => Buffer | undefined);

/** How often a backend whose credential could not be opened is tried again (the key may have arrived). */
const RETRY_BROKEN_MS = 5_000;

export class Credentials {
  private readonly byBackend = new WeakMap<TableBackend, BackendAuth>();
  private lastRetry = 0;

  constructor(private readonly opts: { dataKey?: DataKeySource; resolve?: CredentialResolver } = {}) {}

  /** Opens every credential of a table; returns the problems (one line each) so the caller can log them. */
  prepare(table: RoutingTable): string[] {
    const problems: string[] = [];
    for (const b of table.backends) {
      const auth = this.open(table, b);
      if (auth && 'error' in auth) problems.push(`${table.route.name}/${b.name}: ${auth.error}`);
      this.byBackend.set(b, auth);
    }
    return problems;
  }

  get(table: RoutingTable, backend: TableBackend): BackendAuth {
    let auth = this.byBackend.get(backend);
    if (auth === undefined && !this.byBackend.has(backend)) {
      this.prepare(table);
      auth = this.byBackend.get(backend);
    } else if (auth && 'error' in auth && Date.now() - this.lastRetry > RETRY_BROKEN_MS) {
      this.lastRetry = Date.now();
      auth = this.open(table, backend);
      this.byBackend.set(backend, auth);
    }
    return auth;
  }

  private open(table: RoutingTable, b: TableBackend): BackendAuth {
    const auth = b.auth;
    if (!auth) return undefined;
    let secret: string | undefined;
    try {
      if (auth.sealed) {
        const key = typeof this.opts.dataKey === 'function' ? this.opts.dataKey() : this.opts.dataKey;
        if (!key) return { error: 'credential is sealed but this sidecar has no data key (MODELROUTE_DATA_KEY)' };
        secret = openCredential(auth.sealed, key);
      } else if (auth.ref) {
        secret = this.opts.resolve?.(auth.ref, b, table);
        if (secret === undefined)
          return { error: `credential ${auth.ref.name}/${auth.ref.key} is not sealed and no resolver knows it` };
      }
    } catch (err) {
      return { error: (err as Error).message };
    }
    if (secret === undefined) return undefined;
    if (/[\r\n]/.test(secret)) return { error: 'credential contains a line break' };
    return { header: auth.header, value: auth.header === 'authorization' ? `Bearer ${secret}` : secret };
  }
}
