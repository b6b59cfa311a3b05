import { describe, expect, test } from '@jest/globals';
import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../../telemetry/hot-metrics.js';

/** The same observations through prom-client's metrics and ours must scrape to the same text. */
async function both(fill: (m: { counter: Counter | HotCounter; histogram: Histogram | HotHistogram }) => void) {
  const out: string[] = [];
  for (const kind of ['prom-client', 'hot'] as const) {
    const registers = [new Registry()];
    const labelNames = ['route', 'backend'] as const;
    const buckets = [0.001, 0.5, 1, 2.5];
    const o = { name: 'x_total', help: 'a counter', labelNames, registers };
    const h = { name: 'x_seconds', help: 'a histogram', labelNames, buckets, registers };
    const u = { name: 'y_seconds', help: 'no labels', buckets, registers };
    const counter = kind === 'hot' ? new HotCounter(o) : new Counter(o);
    const histogram = kind === 'hot' ? new HotHistogram(h) : new Histogram(h);
    const unlabelled = kind === 'hot' ? new HotHistogram(u) : new Histogram(u);
    fill({ counter, histogram });
    unlabelled.observe(0.75);
    out.push(await registers[0]!.metrics());
  }
  return out;
}

describe('hot metrics', () => {
  test('scrape exactly as prom-client does: positional and named labels, bucket edges, +Inf, sum and count', async () => {
    const [theirs, ours] = await both(({ counter, histogram }) => {
      counter.labels('r1', 'b1').inc();
      counter.labels({ route: 'r1', backend: 'b1' }).inc(2.5);
      counter.labels('r2', 'b"2').inc();
      for (const v of [0, 0.001, 0.0011, 0.5, 2.5, 3, 99]) histogram.labels('r1', 'b1').observe(v);
      histogram.labels({ route: 'r1', backend: 'b2' }).observe(0.2);
    });
    expect(ours).toBe(theirs);
    expect(ours).toContain('x_seconds_bucket{le="0.001",route="r1",backend="b1"} 2');
    expect(ours).toContain('x_seconds_bucket{le="+Inf",route="r1",backend="b1"} 7');
    expect(ours).toContain('y_seconds_count 1');
  });

  test('metrics without observations scrape as prom-client does', async () => {
    const [theirs, ours] = await both(() => undefined);
    expect(ours).toBe(theirs);
  });

  test('a wrong number of labels, a negative increment or a non-finite value is refused', () => {
    const c = new HotCounter({ name: 'c', help: 'c', labelNames: ['a', 'b'] });
    expect(() => c.labels('only-one')).toThrow(/1 label values for 2 labels/);
    expect(() => c.labels('a', 'b').inc(-1)).toThrow(/non-negative/);
    const h = new HotHistogram({ name: 'h', help: 'h', buckets: [1] });
    expect(() => h.observe(NaN)).toThrow(/not a valid number/);
  });
});
