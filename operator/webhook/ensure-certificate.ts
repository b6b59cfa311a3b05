/**
 * Keeps the webhook's certificate in a Secret (shared by every operator replica, since the Service
 * sends each review to any of them) and the MutatingWebhookConfiguration's caBundle in step with it.
 * Safe to run from every replica at once: creates and replaces use optimistic concurrency, and the
 * loser of a race re-reads and adopts the winner's certificate.
 */
import * as k8s from '@kubernetes/client-node';
import {
  caUsable,
  certificateProblem,
  createCertificateAuthority,
  issueServingCertificate,
  type CertificateAuthority,
} from './certificates.js';
import type { KeyPair } from './server.js';

export interface WebhookCertificateOptions {
  /** Namespace of the Secret (the operator's own). */
  namespace: string;
  secretName: string;
  /** SANs, e.g. svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local (see serviceDnsNames). */
  dnsNames: string[];
  ipAddresses?: string[];
  /** MutatingWebhookConfiguration whose webhooks get the caBundle; omit to skip patching. */
  webhookConfigurationName?: string;
  validityDays?: number;
  caValidityDays?: number;
  renewBeforeDays?: number;
  now?: () => Date;
}

export interface WebhookCertificate {
  certificate: KeyPair;
  /** PEM of the CA; base64 of it is the caBundle. */
  caCert: string;
  /** Why the certificate was (re)issued, or undefined when the stored one was kept. */
  issuedBecause?: string;
  /** False when the MutatingWebhookConfiguration does not exist (yet): call again later. */
  caBundlePatched: boolean;
}

export class WebhookCertificateError extends Error {
  readonly code = 'ERR_WEBHOOK_CERTIFICATE';
}

/** The names the apiserver may use to reach a Service: short to fully qualified. */
export function serviceDnsNames(service: string, namespace: string, clusterDomain = 'cluster.local'): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.${clusterDomain}`,
  ];
}

export async function ensureWebhookCertificate(
  kc: k8s.KubeConfig,
  opts: WebhookCertificateOptions,
): Promise<WebhookCertificate> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const now = opts.now ?? (() => new Date());
  const renewBeforeDays = opts.renewBeforeDays ?? 30;

  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await readSecret(core, opts.namespace, opts.secretName);
    const data = decode(existing?.data);
    const problem =
      data === undefined
        ? 'no certificate stored yet'
        : certificateProblem({
            cert: data.cert,
            caCert: data.caCert,
            dnsNames: opts.dnsNames,
            ipAddresses: opts.ipAddresses,
            renewBeforeDays,
            now: now(),
          });
    if (problem === undefined && data !== undefined) {
      const caBundlePatched = await patchCaBundle(kc, opts.webhookConfigurationName, data.caCert);
      return { certificate: { cert: data.cert, key: data.key }, caCert: data.caCert, caBundlePatched };
    }

    const ca: CertificateAuthority =
      data !== undefined && caUsable(data.caCert, renewBeforeDays, now()) && data.caKey !== ''
        ? { cert: data.caCert, key: data.caKey }
        : createCertificateAuthority(
            `modelroute-webhook-ca-${Math.floor(now().getTime() / 1000)}`,
            opts.caValidityDays ?? 3650,
            now(),
          );
    const leaf = issueServingCertificate(ca, {
      dnsNames: opts.dnsNames,
      ipAddresses: opts.ipAddresses,
      validityDays: opts.validityDays ?? 365,
      now: now(),
    });
    const body: k8s.V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: opts.secretName,
        namespace: opts.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'modelroute-operator', 'app.kubernetes.io/component': 'webhook' },
        // Set on replace, so a concurrent writer's newer version makes this one fail with 409.
        resourceVersion: existing?.metadata?.resourceVersion,
      },
      data: {
        'tls.crt': b64(leaf.cert),
        'tls.key': b64(leaf.key),
        'ca.crt': b64(ca.cert),
        'ca.key': b64(ca.key),
      },
    };
    try {
      if (existing === undefined) await core.createNamespacedSecret({ namespace: opts.namespace, body });
      else await core.replaceNamespacedSecret({ name: opts.secretName, namespace: opts.namespace, body });
    } catch (err) {
      if (statusOf(err) === 409) continue;
      throw new WebhookCertificateError(
        `cannot store webhook certificate in Secret ${opts.namespace}/${opts.secretName}: ${describe(err)}`,
      );
    }
    const caBundlePatched = await patchCaBundle(kc, opts.webhookConfigurationName, ca.cert);
    return { certificate: leaf, caCert: ca.cert, issuedBecause: problem, caBundlePatched };
  }
  throw new WebhookCertificateError(
    `Secret ${opts.namespace}/${opts.secretName} kept changing under us; giving up for now`,
  );
}

/** Sets clientConfig.caBundle on every webhook of the configuration that does not have it already. */
async function patchCaBundle(kc: k8s.KubeConfig, name: string | undefined, caCert: string): Promise<boolean> {
  if (name === undefined) return true;
  const api = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  let config: k8s.V1MutatingWebhookConfiguration;
  try {
    config = await api.readMutatingWebhookConfiguration({ name });
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw new WebhookCertificateError(`cannot read MutatingWebhookConfiguration ${name}: ${describe(err)}`);
  }
  const caBundle = b64(caCert);
  const ops = (config.webhooks ?? []).flatMap((webhook, i) =>
    webhook.clientConfig.caBundle === caBundle
      ? []
      : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }],
  );
  if (ops.length === 0) return true;
  // The test op makes the patch fail rather than hit the wrong entry if the list changed since the read.
  const guard = { op: 'test', path: '/metadata/resourceVersion', value: config.metadata?.resourceVersion };
  try {
    await api.patchMutatingWebhookConfiguration(
      { name, body: [guard, ...ops] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
  } catch (err) {
    throw new WebhookCertificateError(
      `cannot patch caBundle of MutatingWebhookConfiguration ${name}: ${describe(err)}`,
    );
  }
  return true;
}

async function readSecret(core: k8s.CoreV1Api, namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw new WebhookCertificateError(`cannot read Secret ${namespace}/${name}: ${describe(err)}`);
  }
}

function decode(
  data: Record<string, string> | undefined,
): { cert: string; key: string; caCert: string; caKey: string } | undefined {
  const get = (k: string) => (data?.[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8'));
  const cert = get('tls.crt');
  const key = get('tls.key');
  const caCert = get('ca.crt');
  if (cert === undefined || key === undefined || caCert === undefined) return undefined;
  return { cert, key, caCert, caKey: get('ca.key') ?? '' };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function statusOf(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

function describe(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    return `HTTP ${err.code}: ${body}`;
  }
  return err instanceof Error ? err.message : String(err);
}
