/**
 * Which routes reference which Secrets, so a Secret change requeues exactly the routes that read it. Routes can
 * only reference Secrets in their own namespace, so keys are `ns/secret` and `ns/route`.
 */
import type { ModelRoute } from '../core/api/types.js';

export class SecretIndex {
  private readonly byRoute = new Map<string, Set<string>>();
  private readonly bySecret = new Map<string, Set<string>>();

  /** Records the Secrets `route` references now (replacing what it referenced before). */
  set(route: ModelRoute): void {
    const ns = route.metadata.namespace ?? 'default';
    const routeKey = `${ns}/${route.metadata.name}`;
    this.remove(routeKey);
    const secrets = new Set<string>();
    for (const b of route.spec?.backends ?? []) {
      if (b.credentialsSecretRef?.name) secrets.add(`${ns}/${b.credentialsSecretRef.name}`);
    }
    this.byRoute.set(routeKey, secrets);
    for (const s of secrets) {
      let routes = this.bySecret.get(s);
      if (!routes) this.bySecret.set(s, (routes = new Set()));
      routes.add(routeKey);
    }
  }

  remove(routeKey: string): void {
    for (const s of this.byRoute.get(routeKey) ?? []) {
      const routes = this.bySecret.get(s);
      routes?.delete(routeKey);
      if (routes?.size === 0) this.bySecret.delete(s);
    }
    this.byRoute.delete(routeKey);
  }

  routesFor(secretKey: string): string[] {
    return [...(this.bySecret.get(secretKey) ?? [])];
  }
}
