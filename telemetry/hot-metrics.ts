/**
 * Counters and histograms for the request path, scraped through a prom-client Registry like any other metric.
 * prom-client converts, validates and hashes the label set on every inc() and observe(), even on a child from
 * labels(): at thousands of requests per second that was a few per cent of the sidecar's CPU. Here a child is
 * made once per label values and then costs a bucket search and two additions.
 *
 * Label values come from tables and fixed sets (routes, backends, statuses), never from client input, so the
 * number of children is bounded as it is with prom-client.
 */
import type { Registry } from 'prom-client';

type LabelValues<L extends string> = Partial<Record<L, string | number>>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Options<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  registers?: Registry[];
}

abstract class HotMetric<L extends string, C> {
  name: string;
  readonly help: string;
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'histogram';
  private readonly labelNames: readonly L[];
  private readonly children = new Map<string, { labels: Record<string, string>; child: C }>();

  constructor(o: Options<L>) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
    // The Registry renders anything with name, help, type and get(); the cast is to its Metric type.
    for (const r of o.registers ?? []) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The child for these label values, by position or by name (as prom-client's labels()). */
  labels(...args: string[] | [LabelValues<L>]): C {
    const values =
      typeof args[0] === 'object'
        ? this.labelNames.map((n) => String((args[0] as LabelValues<L>)[n] ?? ''))
        : (args as string[]);
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      if (values.length !== this.labelNames.length)
        throw new Error(`${this.name}: ${values.length} label values for ${this.labelNames.length} labels`);
      const labels = Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]!]));
      entry = { labels, child: this.newChild() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** What prom-client's Registry renders, in the shape its own metrics give. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    // A metric without labels is shown from the start, at zero, as prom-client shows it.
    if (this.labelNames.length === 0) this.labels();
    const values: MetricValue[] = [];
    for (const { labels, child } of this.children.values()) this.render(labels, child, values);
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  protected abstract newChild(): C;
  protected abstract render(labels: Record<string, string>, child: C, out: MetricValue[]): void;
}

export class CounterChild {
  value = 0;

  inc(by = 1): void {
    if (!(by >= 0)) throw new Error(`counter increment must be a non-negative number, got ${by}`);
    this.value += by;
  }
}

export class HotCounter<L extends string = string> extends HotMetric<L, CounterChild> {
  readonly type = 'counter';

  /** Increments the metric without labels. */
  inc(by = 1): void {
    this.labels().inc(by);
  }

  protected newChild(): CounterChild {
    return new CounterChild();
  }

  protected render(labels: Record<string, string>, child: CounterChild, out: MetricValue[]): void {
    out.push({ labels, value: child.value });
  }
}

export class HistogramChild {
  sum = 0;
  count = 0;
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`value is not a valid number: ${value}`);
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram<L extends string = string> extends HotMetric<L, HistogramChild> {
  readonly type = 'histogram';
  private readonly buckets: readonly number[];

  constructor(o: Options<L> & { buckets: readonly number[] }) {
    super(o);
    this.buckets = [...o.buckets].sort((a, b) => a - b);
  }

  /** Observes on the metric without labels. */
  observe(value: number): void {
    this.labels().observe(value);
  }

  protected newChild(): HistogramChild {
    return new HistogramChild(this.buckets);
  }

  protected render(labels: Record<string, string>, child: HistogramChild, out: MetricValue[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += child.counts[i]!;
      out.push({ labels: { le: this.buckets[i]!, ...labels }, value: cumulative, metricName: bucket });
    }
    out.push({ labels: { le: '+Inf', ...labels }, value: child.count, metricName: bucket });
    out.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: child.count, metricName: `${this.name}_count` });
  }
}
