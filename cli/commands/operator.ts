/**
 * `modelroute operator`: wiring only. Parses config (every problem at once), builds the kube and Redis clients,
 * starts the operator and its admin server, and on SIGTERM/SIGINT releases the lease and exits.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { startAdminServer } from '../../operator/admin-server.js';
import { OPERATOR_FLAGS, parseOperatorConfig } from '../../operator/config.js';
import { OperatorError } from '../../operator/errors.js';
import { jsonLogger } from '../../operator/log.js';
import { OperatorMetrics } from '../../operator/metrics.js';
import { Operator } from '../../operator/operator.js';
import { connectRedis } from '../../sidecar/redis-connection.js';
import { startTelemetry } from '../../telemetry/otel.js';
import { InjectionConfigError } from '../../operator/webhook/injection-config.js';
import { runWebhook, webhookSettingsFromEnv, type WebhookSettings } from '../../operator/webhook/index.js';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    const width = Math.max(...Object.keys(OPERATOR_FLAGS).map((f) => f.length));
    console.log(
      `usage: modelroute operator [flags]\n\n${Object.entries(OPERATOR_FLAGS)
        .map(([f, d]) => `  ${f.padEnd(width)}  ${d}`)
        .join('\n')}`,
    );
    return 0;
  }
  let config;
  let webhookSettings: WebhookSettings | undefined;
  try {
    config = parseOperatorConfig(argv, process.env);
    webhookSettings = webhookSettingsFromEnv(process.env);
  } catch (err) {
    if ((err instanceof OperatorError && err.code === 'ERR_OPERATOR_CONFIG') || err instanceof InjectionConfigError) {
      console.error(`modelroute operator: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = jsonLogger(config.logLevel);
  // Spans go where OTEL_EXPORTER_OTLP_* says (service.name modelroute-operator unless OTEL_SERVICE_NAME says otherwise).
  const telemetry = await startTelemetry({ serviceName: 'modelroute-operator', log: (m) => log.warn(m) });
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromCluster();
  // Retry forever: the operator must ride out a Redis restart, and the guard republishes on reconnect.
  const redis = connectRedis(
    { url: config.redisUrl, ...(config.redisCA && { ca: config.redisCA }), cluster: config.redisCluster },
    { maxRetriesPerRequest: 3, retryStrategy: (n) => Math.min(100 * 2 ** n, 5_000) },
  );
  redis.on('error', (err: Error) => log.debug('redis error', { error: err.message }));

  let exitCode = 0;
  let finish = (): void => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const operator = new Operator({
    kubeConfig,
    redis,
    log,
    ...(config.namespaces ? { namespaces: config.namespaces } : {}),
    ...(config.identity ? { identity: config.identity } : {}),
    ...(config.leaderElect
      ? {
          leaderElection: {
            namespace: config.leaderElectNamespace,
            name: config.leaderElectName,
            leaseDurationMs: config.leaseDurationMs,
            renewDeadlineMs: config.renewDeadlineMs,
            retryPeriodMs: config.retryPeriodMs,
          },
        }
      : {}),
    concurrency: config.concurrency,
    resyncMs: config.resyncMs,
    watchTimeoutSeconds: config.watchTimeoutSeconds,
    redisCheckMs: config.redisCheckMs,
    metrics: new OperatorMetrics(true),
    // Like controller-runtime: a replica that lost the lease exits and comes back as a clean standby.
    onStoppedLeading: () => {
      exitCode = 1;
      finish();
    },
  });
  const admin = await startAdminServer(operator, config.admin.host, config.admin.port);
  log.info('operator started', {
    admin: admin.url,
    identity: operator.identity,
    namespaces: config.namespaces ?? 'all',
  });
  operator.start();
  // Every replica serves the injection webhook, not only the leader: the Service spreads admission calls.
  const webhook = webhookSettings
    ? await runWebhook(kubeConfig, webhookSettings, (level, msg, fields) => log[level](msg, fields))
    : undefined;

  const onSignal = (signal: string) => () => {
    log.info('shutting down', { signal });
    finish();
  };
  process.once('SIGTERM', onSignal('SIGTERM'));
  process.once('SIGINT', onSignal('SIGINT'));
  await done;
  await webhook?.close();
  await operator.stop();
  await admin.close();
  redis.disconnect();
  // An unreachable collector's export retries would keep the process alive for seconds: leave now.
  if (!(await telemetry.shutdown())) process.exit(exitCode);
  return exitCode;
}
