/**
 * The data of the Secrets that routes reference, read from the apiserver once per Secret resourceVersion.
 *
 * The Secret informer keeps only identities (name and resourceVersion). Without this cache every reconcile of a
 * route with a credential GETs its Secret, so a cold start over N routes sharing one Secret made N identical
 * GETs. Here the first read of a Secret is kept, keyed by the resourceVersion it returned, and reused while the
 * informer reports that same resourceVersion; any other answer from the informer (another version, not seen
 * yet, not synced) means a fresh GET. Concurrent reads of one Secret share a single GET.
 *
 * Freshness is the informer's, as for routes: a Secret change reaches the informer, which calls `forget` and
 * requeues the routes that reference it, so a read that raced the change is redone. Only referenced Secrets
 * are held, and each only until the informer sees it change or go.
 */
import type { V1Secret } from '@kubernetes/client-node';

export type SecretRead = { found: true; value: string } | { found: false; why: 'secret' | 'key' };

export interface SecretValuesDeps {
  /** GET from the apiserver; undefined when the Secret does not exist. */
  get(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** The resourceVersion the Secret informer holds, or undefined if it holds none. */
  informerVersion(namespace: string, name: string): string | undefined;
}

interface Entry {
  resourceVersion: string;
  data: Record<string, string>;
}

export class SecretValues {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry | undefined>>();

  constructor(private readonly deps: SecretValuesDeps) {}

  async read(namespace: string, name: string, key: string): Promise<SecretRead> {
    const entry = await this.secret(namespace, name);
    if (!entry) return { found: false, why: 'secret' };
    const b64 = entry.data[key];
    if (b64 === undefined) return { found: false, why: 'key' };
    return { found: true, value: Buffer.from(b64, 'base64').toString('utf8') };
  }

  /** The Secret changed or went away: the next read GETs it (and a GET already in flight is not reused). */
  forget(namespace: string, name: string): void {
    const id = `${namespace}/${name}`;
    this.entries.delete(id);
    this.inflight.delete(id);
  }

  /** How many Secrets are held (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private secret(namespace: string, name: string): Promise<Entry | undefined> {
    const id = `${namespace}/${name}`;
    const known = this.deps.informerVersion(namespace, name);
    const held = this.entries.get(id);
    if (held && known !== undefined && held.resourceVersion === known) return Promise.resolve(held);
    const pending = this.inflight.get(id);
    if (pending) return pending;
    const fetch = this.deps.get(namespace, name).then((s) => {
      // Store only if nothing forgot this Secret while the GET was out: its answer may predate the change.
      if (this.inflight.get(id) !== fetch) return toEntry(s);
      this.inflight.delete(id);
      const entry = toEntry(s);
      if (entry) this.entries.set(id, entry);
      else this.entries.delete(id);
      return entry;
    });
    this.inflight.set(id, fetch);
    fetch.catch(() => {
      if (this.inflight.get(id) === fetch) this.inflight.delete(id);
    });
    return fetch;
  }
}

function toEntry(s: V1Secret | undefined): Entry | undefined {
  if (!s) return undefined;
  return { resourceVersion: s.metadata?.resourceVersion ?? '', data: s.data ?? {} };
}
