/**
 * Caps on concurrent in-flight requests (streams included), per client address and in total, so one runaway
 * client cannot hold every upstream connection and all of the sidecar's memory. The hot path is one Map lookup
 * and two integer updates; a slot is taken when a request arrives and given back when its response closes,
 * whatever the ending (complete, error, client abort).
 */
export interface ClientLimitOptions {
  /** Concurrent requests per remote address; 0 = unlimited. */
  perClient: number;
  /** Concurrent requests in total; 0 = unlimited. */
  total: number;
}

export class ClientLimits {
  private readonly inFlight = new Map<string, number>();
  private all = 0;

  constructor(private readonly o: ClientLimitOptions) {}

  /** Takes a slot for this client ('ok'), or names the cap that is reached (and takes nothing). */
  acquire(client: string): 'ok' | 'client' | 'total' {
    if (this.o.total > 0 && this.all >= this.o.total) return 'total';
    const n = this.inFlight.get(client) ?? 0;
    if (this.o.perClient > 0 && n >= this.o.perClient) return 'client';
    this.inFlight.set(client, n + 1);
    this.all++;
    return 'ok';
  }

  get options(): Readonly<ClientLimitOptions> {
    return this.o;
  }

  release(client: string): void {
    const n = this.inFlight.get(client);
    if (n === undefined) return;
    if (n <= 1) this.inFlight.delete(client);
    else this.inFlight.set(client, n - 1);
    this.all--;
  }

  /** Requests in flight (for metrics and tests). */
  size(): number {
    return this.all;
  }
}
