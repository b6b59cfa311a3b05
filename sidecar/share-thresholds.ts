/**
 * Calibrated thresholds for complexity routes with `targetShare`: one calibrator per route, fed with the
 * scores of that route's own traffic, so the top tier keeps taking about targetShare of it as the prompt
 * mix drifts. Observing and reading are O(log bins) and allocation-free (core/classifier/calibrate.ts).
 */
import type { RoutingTable } from '../core/api/types.js';
import { ShareCalibrator } from '../core/classifier/calibrate.js';

export class ShareThresholds {
  private readonly byRoute = new Map<string, ShareCalibrator>();

  constructor(private readonly prior: readonly number[] | undefined) {}

  threshold(table: RoutingTable): number | undefined {
    const share = table.strategy.kind === 'complexity' ? table.strategy.targetShare : undefined;
    if (share === undefined) return undefined;
    return this.calibrator(table)?.threshold(share);
  }

  observe(table: RoutingTable, score: number | undefined): void {
    if (score === undefined || table.strategy.kind !== 'complexity' || table.strategy.targetShare === undefined) return;
    this.calibrator(table)?.observe(score);
  }

  private calibrator(table: RoutingTable): ShareCalibrator | undefined {
    if (!this.prior || this.prior.length < 2) return undefined;
    // Keyed by route, not table version: a republished route keeps what its traffic taught.
    const key = `${table.route.namespace}/${table.route.name}`;
    let c = this.byRoute.get(key);
    if (!c) {
      c = new ShareCalibrator({ prior: this.prior });
      this.byRoute.set(key, c);
    }
    return c;
  }
}
