/** Prometheus metrics of one operator, on its own registry so several can run in one process (tests). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'modelroute_operator_reconciles_total',
    help: 'Reconciles by result (success, error, requeue).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'modelroute_operator_reconcile_errors_total',
    help: 'Reconciles that failed and will be retried with backoff.',
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'modelroute_operator_reconcile_duration_seconds',
    help: 'Time per reconcile.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly tablesPublished = new Counter({
    name: 'modelroute_operator_tables_published_total',
    help: 'Routing tables written to Redis (unchanged versions are not rewritten).',
    registers: [this.registry],
  });
  readonly tablesDeleted = new Counter({
    name: 'modelroute_operator_tables_deleted_total',
    help: 'Routing tables removed from Redis.',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'modelroute_operator_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'modelroute_operator_queue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: 'modelroute_operator_watch_restarts_total',
    help: 'Informer restarts by cause (error, expired, stalled).',
    labelNames: ['resource', 'cause'] as const,
    registers: [this.registry],
  });
  readonly redisResyncs = new Counter({
    name: 'modelroute_operator_redis_resyncs_total',
    help: 'Full republishes after Redis lost the tables (flush or restart).',
    registers: [this.registry],
  });

  readonly eventsDropped = new Counter({
    name: 'modelroute_operator_events_dropped_total',
    help: 'Kubernetes Events not recorded because too many were waiting to be posted.',
    registers: [this.registry],
  });

  readonly redisChecks = new Counter({
    name: 'modelroute_operator_redis_epoch_checks_total',
    help: 'Successful checks that Redis still holds the operator epoch.',
    registers: [this.registry],
  });

  constructor(defaultMetrics = false) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
