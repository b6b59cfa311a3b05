/**
 * The webhook as the operator runs it: settings parsed once from the environment the chart sets,
 * then certificate upkeep and the HTTPS server. The operator main only calls
 * `runWebhook(kc, webhookSettingsFromEnv(process.env))` and closes the result on shutdown.
 */
import type * as k8s from '@kubernetes/client-node';
import { ensureWebhookCertificate, serviceDnsNames } from './ensure-certificate.js';
import { InjectionConfigError, parseInjectionConfig, type InjectionConfig } from './injection-config.js';
import { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './server.js';

export interface WebhookSettings {
  host: string;
  port: number;
  /** `self-signed`: the operator keeps the certificate in a Secret; `cert-manager`: files in certDir. */
  certMode: 'self-signed' | 'cert-manager';
  certDir?: string;
  namespace: string;
  secretName: string;
  serviceName: string;
  webhookConfigurationName: string;
  ipAddresses: string[];
  /** How often the stored certificate is checked for expiry (and the caBundle re-asserted). */
  checkIntervalMs: number;
  config: InjectionConfig;
}

/**
 * Reads MODELROUTE_WEBHOOK_* and MODELROUTE_INJECTION (JSON), reporting every problem at once.
 * Returns undefined when MODELROUTE_WEBHOOK_LISTEN is unset: the webhook is disabled.
 */
export function webhookSettingsFromEnv(env: NodeJS.ProcessEnv): WebhookSettings | undefined {
  const listen = env.MODELROUTE_WEBHOOK_LISTEN;
  if (listen === undefined || listen === '') return undefined;
  const problems: string[] = [];
  const match = /^(.*):(\d+)$/.exec(listen);
  if (match === null) problems.push(`MODELROUTE_WEBHOOK_LISTEN: expected host:port, got '${listen}'`);
  const certMode = env.MODELROUTE_WEBHOOK_CERT_MODE ?? 'self-signed';
  if (certMode !== 'self-signed' && certMode !== 'cert-manager') {
    problems.push(`MODELROUTE_WEBHOOK_CERT_MODE: expected self-signed or cert-manager, got '${certMode}'`);
  }
  if (certMode === 'cert-manager' && !env.MODELROUTE_WEBHOOK_CERT_DIR) {
    problems.push('MODELROUTE_WEBHOOK_CERT_DIR: required with cert-manager');
  }
  const namespace = env.POD_NAMESPACE ?? '';
  if (namespace === '') problems.push('POD_NAMESPACE: required (the downward API sets it)');
  let config: InjectionConfig | undefined;
  try {
    config = parseInjectionConfig(JSON.parse(env.MODELROUTE_INJECTION ?? 'null'));
  } catch (err) {
    if (err instanceof InjectionConfigError) problems.push(...err.problems.map((p) => `MODELROUTE_INJECTION: ${p}`));
    else problems.push(`MODELROUTE_INJECTION: not JSON (${(err as Error).message})`);
  }
  const interval = Number(env.MODELROUTE_WEBHOOK_CHECK_INTERVAL_SECONDS ?? 3600);
  if (!Number.isFinite(interval) || interval <= 0)
    problems.push('MODELROUTE_WEBHOOK_CHECK_INTERVAL_SECONDS: positive number');
  if (problems.length > 0) throw new InjectionConfigError(problems);
  return Object.freeze({
    host: match![1]!.replace(/^\[|\]$/g, ''),
    port: Number(match![2]),
    certMode: certMode as WebhookSettings['certMode'],
    certDir: env.MODELROUTE_WEBHOOK_CERT_DIR,
    namespace,
    secretName: env.MODELROUTE_WEBHOOK_SECRET ?? 'modelroute-webhook-tls',
    serviceName: env.MODELROUTE_WEBHOOK_SERVICE ?? 'modelroute-webhook',
    webhookConfigurationName: env.MODELROUTE_WEBHOOK_CONFIGURATION ?? 'modelroute',
    ipAddresses: (env.MODELROUTE_WEBHOOK_IPS ?? '').split(',').filter((s) => s !== ''),
    checkIntervalMs: interval * 1000,
    config: config!,
  });
}

export interface RunningWebhook extends WebhookServer {
  /** Runs one certificate check now (the timer does it every checkIntervalMs). */
  refresh(): Promise<void>;
}

/** Issues or loads the certificate, starts serving, and keeps the certificate fresh until closed. */
export async function runWebhook(
  kc: k8s.KubeConfig,
  settings: WebhookSettings,
  log: NonNullable<WebhookServerOptions['log']> = () => undefined,
): Promise<RunningWebhook> {
  const base = { host: settings.host, port: settings.port, config: settings.config, log };
  if (settings.certMode === 'cert-manager') {
    // cert-manager renews the mounted Secret and its cainjector patches the caBundle.
    const server = await startWebhookServer({ ...base, certDir: settings.certDir });
    return { ...server, refresh: async () => undefined };
  }
  const certOptions = {
    namespace: settings.namespace,
    secretName: settings.secretName,
    dnsNames: serviceDnsNames(settings.serviceName, settings.namespace),
    ipAddresses: settings.ipAddresses,
    webhookConfigurationName: settings.webhookConfigurationName,
  };
  const first = await ensureWebhookCertificate(kc, certOptions);
  const server = await startWebhookServer({ ...base, certificate: first.certificate });
  let pending = !first.caBundlePatched;
  const refresh = async (): Promise<void> => {
    const result = await ensureWebhookCertificate(kc, certOptions);
    server.setCertificate(result.certificate);
    if (result.issuedBecause !== undefined) log('info', 'webhook certificate issued', { reason: result.issuedBecause });
    pending = !result.caBundlePatched;
  };
  const tick = (): void => {
    refresh().catch((err: unknown) =>
      log('warn', 'webhook certificate check failed; will retry', { error: String(err) }),
    );
  };
  // Until the MutatingWebhookConfiguration exists (Helm may create it after the operator starts) retry
  // every few seconds; after that, hourly is plenty for a certificate renewed 30 days early.
  const slow = setInterval(tick, settings.checkIntervalMs);
  const fast = setInterval(() => {
    if (pending) tick();
  }, 5_000);
  slow.unref();
  fast.unref();
  return {
    port: server.port,
    url: server.url,
    setCertificate: server.setCertificate,
    refresh,
    close: async () => {
      clearInterval(slow);
      clearInterval(fast);
      await server.close();
    },
  };
}
