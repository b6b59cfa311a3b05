/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
 * - a candidate takes the lease when it does not exist, is released (no holder), or has not been renewed for
 *   leaseDuration *as observed by this process* (our clock, not the holder's: no clock-skew assumptions);
 * - every write is a PUT with the resourceVersion we read, so of two candidates only one wins;
 * - the leader renews every retryPeriod and steps down if it could not renew for renewDeadline (< leaseDuration),
 *   so it stops writing before anyone else may take over;
 * - release() on SIGTERM clears the holder so a standby takes over at once instead of after leaseDuration.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound, messageOf, withTimeout } from './errors.js';
import type { Logger } from './log.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading(): void;
  /** Leadership lost (renew failed past the deadline, or someone else holds the lease): stop writing now. */
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private observed: { rv: string; at: number } | undefined;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private tick: Promise<void> = Promise.resolve();
  leading = false;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops campaigning; a leader clears the holder so a standby takes over without waiting for expiry. */
  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    if (!this.leading) return;
    // Not onStoppedLeading: stepping down on purpose is not a lost election.
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
      await this.call(
        this.api.replaceNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name, body: lease }),
      );
      this.opts.log.info('leader lease released', { lease: this.opts.name });
    } catch (err) {
      this.opts.log.warn('could not release leader lease', { error: messageOf(err) });
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick = this.tryAcquireOrRenew().finally(() => this.schedule(this.opts.retryPeriodMs));
    }, ms);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = Date.now();
    try {
      const ok = await this.acquireOrRenew(now);
      if (this.stopped) return;
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) this.setLeading(true);
      } else if (this.leading) {
        this.setLeading(false);
      }
    } catch (err) {
      this.opts.log.warn('leader election: lease update failed', { error: messageOf(err) });
      if (this.leading && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) this.setLeading(false);
    }
  }

  /** One attempt: true when we hold the lease afterwards. */
  private async acquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const durationSeconds = Math.max(1, Math.round(this.opts.leaseDurationMs / 1000));
    const lease = await this.read();
    if (!lease) {
      try {
        await this.call(
          this.api.createNamespacedLease({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: {
                holderIdentity: identity,
                leaseDurationSeconds: durationSeconds,
                acquireTime: new V1MicroTime(now),
                renewTime: new V1MicroTime(now),
                leaseTransitions: 0,
              },
            },
          }),
        );
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    const rv = lease.metadata?.resourceVersion ?? '';
    if (this.observed?.rv !== rv) this.observed = { rv, at: now };
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const heldByUs = holder === identity;
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expired = now - this.observed.at > leaseMs;
    if (holder && !heldByUs && !expired) return false;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: new V1MicroTime(now),
      ...(heldByUs ? {} : { acquireTime: new V1MicroTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      const updated = await this.call(this.api.replaceNamespacedLease({ namespace, name, body: lease }));
      this.observed = { rv: updated.metadata?.resourceVersion ?? '', at: now };
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.call(this.api.readNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.opts.log.info(leading ? 'became leader' : 'stopped leading', { identity: this.opts.identity });
    if (leading) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  private call<T>(p: Promise<T>): Promise<T> {
    return withTimeout(p, this.opts.renewDeadlineMs, 'lease request');
  }
}
