/**
 * `modelroute sidecar`: wiring only. Parses config (every problem at once), starts the sidecar, and on
 * SIGTERM/SIGINT stops accepting, lets in-flight requests finish, flushes usage and exits.
 */
import { ConfigError, SIDECAR_FLAGS, parseSidecarConfig } from '../../sidecar/config.js';
import { envCredentialResolver } from '../../sidecar/credentials.js';
import { startSidecar } from '../../sidecar/sidecar.js';
import { jsonLogLine } from '../../telemetry/log-context.js';
import { startTelemetry } from '../../telemetry/otel.js';
import { SidecarTelemetry } from '../../telemetry/sidecar-telemetry.js';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    const width = Math.max(...Object.keys(SIDECAR_FLAGS).map((f) => f.length));
    console.log(
      `usage: modelroute sidecar [flags]\n\n${Object.entries(SIDECAR_FLAGS)
        .map(([f, d]) => `  ${f.padEnd(width)}  ${d}`)
        .join('\n')}\n\nenv: MODELROUTE_DATA_KEY (base64) or MODELROUTE_DATA_KEY_FILE opens sealed credentials.`,
    );
    return 0;
  }
  let config;
  try {
    config = parseSidecarConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`modelroute sidecar: ${err.message}`);
      return 2;
    }
    throw err;
  }
  // With the ids of the active span, if any (telemetry/log-context.ts).
  const log = (message: string) =>
    console.error(jsonLogLine({ time: new Date().toISOString(), component: 'sidecar', message }));
  // Traces go where OTEL_EXPORTER_OTLP_* says; without an exporter no span work happens on the hot path.
  const telemetry = await startTelemetry({ serviceName: 'modelroute-sidecar', log });
  const sidecar = await startSidecar({
    listen: config.listen,
    admin: config.admin,
    namespace: config.namespace,
    redisURL: config.redisURL,
    ...(config.redisCA && { redisCA: config.redisCA }),
    redisCluster: config.redisCluster,
    ...(config.stateFile && { stateFile: config.stateFile }),
    ...(config.dataKey && { dataKey: config.dataKey }),
    resolveCredential: envCredentialResolver(),
    bodyLimit: config.bodyLimit,
    limits: { perClient: config.maxStreamsPerClient, total: config.maxStreams },
    checkIntervalMs: config.checkIntervalMs,
    flushMs: config.flushMs,
    log,
    observer: (registry) => new SidecarTelemetry({ registry, namespace: config.namespace, log }),
  });
  log(`serving ${sidecar.baseURL} (admin ${sidecar.adminUrl}) for namespace ${config.namespace}`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log(`${signal}: draining`);
  await sidecar.close(config.drainMs);
  const flushed = await telemetry.shutdown();
  log(flushed ? 'stopped' : 'stopped; spans not flushed in time (collector unreachable) were dropped');
  // An unreachable collector's export retries would keep the process alive for seconds: leave now.
  if (!flushed) process.exit(0);
  return 0;
}
