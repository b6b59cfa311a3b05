/**
 * The injection webhook end to end against a real kube-apiserver: the operator's webhook code issues its
 * certificate into a Secret, serves /mutate-pods with TLS on loopback, and keeps the caBundle of a
 * MutatingWebhookConfiguration rendered from the chart (only clientConfig swapped for a loopback URL).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ensureWebhookCertificate, serviceDnsNames } from '../../../operator/webhook/ensure-certificate.js';
import { runWebhook, webhookSettingsFromEnv, type WebhookSettings } from '../../../operator/webhook/run-webhook.js';
import { helm, sharedKube, waitFor, type Kube } from '../../helpers/control-plane.js';

// helm built from source assumes Kubernetes v1.20 for `template`; the chart needs >= 1.29 (native sidecars).
const KUBE_VERSION = ['--kube-version', 'v1.36.3'];
const chartDir = fileURLToPath(new URL('../../../helm/modelroute', import.meta.url));
const run = randomBytes(3).toString('hex');
const systemNs = `mr-wh-system-${run}`;
const labelledNs = `mr-wh-app-${run}`;
const plainNs = `mr-wh-plain-${run}`;
const configName = `modelroute-test-${run}`;

let kube: Kube;
let core: k8s.CoreV1Api;
let webhook: Awaited<ReturnType<typeof runWebhook>>;
let settings: WebhookSettings;

const pod = (name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): k8s.V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'demo', ...extra.labels }, annotations: extra.annotations },
  spec: {
    containers: [
      { name: 'app', image: 'example.com/app:1' },
      { name: 'keeps-own', image: 'example.com/other:1', env: [{ name: 'OPENAI_BASE_URL', value: 'https://api.openai.com/v1' }] },
    ],
  },
});

const sidecars = (p: k8s.V1Pod) => (p.spec?.initContainers ?? []).filter((c) => c.name === 'modelroute-sidecar');

async function createPod(namespace: string, body: k8s.V1Pod): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({ namespace, body });
}

beforeAll(async () => {
  kube = await sharedKube();
  core = kube.kubeConfig.makeApiClient(k8s.CoreV1Api);
  for (const [name, labels] of [
    [systemNs, {}],
    [labelledNs, { 'modelroute.dev/inject': 'enabled', 'modelroute.dev/test-run': run }],
    [plainNs, { 'modelroute.dev/test-run': run }],
  ] as const) {
    await core.createNamespace({ body: { metadata: { name, labels } } });
  }

  settings = webhookSettingsFromEnv({
    MODELROUTE_WEBHOOK_LISTEN: '127.0.0.1:0',
    MODELROUTE_WEBHOOK_SECRET: 'modelroute-webhook-tls',
    MODELROUTE_WEBHOOK_SERVICE: 'modelroute-webhook',
    MODELROUTE_WEBHOOK_CONFIGURATION: configName,
    MODELROUTE_WEBHOOK_IPS: '127.0.0.1',
    POD_NAMESPACE: systemNs,
    MODELROUTE_INJECTION: JSON.stringify({
      image: 'ghcr.io/modelroute/modelroute:test',
      redisUrl: 'rediss://:$(MODELROUTE_REDIS_PASSWORD)@redis.example:6380/0',
      redisPasswordSecret: { name: 'modelroute-redis', key: 'password' },
      otel: { endpoint: 'http://jaeger.observability.svc:4318', protocol: 'http/protobuf' },
    }),
  })!;
  webhook = await runWebhook(kube.kubeConfig, settings);

  // The chart's own MutatingWebhookConfiguration (selectors, failurePolicy...), pointed at loopback and
  // narrowed to this file's namespaces so other test files sharing the apiserver are unaffected.
  const rendered = await helm(['template', ...KUBE_VERSION, 'mr', chartDir, '--namespace', systemNs, '--show-only', 'templates/mutating-webhook.yaml', '--set', 'webhook.failurePolicy=Fail']);
  expect(rendered.stderr).toBe('');
  expect(rendered.code).toBe(0);
  const mwc = parseAllDocuments(rendered.stdout)[0]!.toJSON() as k8s.V1MutatingWebhookConfiguration;
  mwc.metadata = { name: configName };
  for (const w of mwc.webhooks!) {
    w.clientConfig = { url: webhook.url };
    w.namespaceSelector!.matchExpressions!.push({ key: 'modelroute.dev/test-run', operator: 'In', values: [run] });
  }
  await kube.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: mwc });
  await webhook.refresh(); // patches the caBundle now that the configuration exists

  // Registration reaches the apiserver's admission chain asynchronously: wait until a dry-run is injected.
  await waitFor(
    async () => sidecars(await core.createNamespacedPod({ namespace: labelledNs, body: pod('probe'), dryRun: 'All' })).length === 1,
    { timeoutMs: 30_000, intervalMs: 200, message: 'webhook registration to take effect' },
  );
}, 120_000);

afterAll(async () => {
  await kube?.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name: configName }).catch(() => undefined);
  await webhook?.close();
  for (const name of [systemNs, labelledNs, plainNs]) await core?.deleteNamespace({ name }).catch(() => undefined);
});

describe('injection webhook', () => {
  it('stored the certificate in a Secret and its CA as the caBundle of every webhook', async () => {
    const secret = await core.readNamespacedSecret({ namespace: systemNs, name: 'modelroute-webhook-tls' });
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const mwc = await kube.kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: configName });
    expect(mwc.webhooks!.map((w) => w.clientConfig.caBundle)).toEqual([secret.data!['ca.crt'], secret.data!['ca.crt']]);
  });

  it('stores a Pod in a labelled namespace with the native sidecar, its env and mounts', async () => {
    const stored = await createPod(labelledNs, pod('injected'));
    const [sidecar] = sidecars(stored);
    expect(sidecar).toBeDefined();
    expect(stored.spec!.initContainers![0]!.name).toBe('modelroute-sidecar');
    expect(sidecar!.restartPolicy).toBe('Always');
    expect(sidecar!.image).toBe('ghcr.io/modelroute/modelroute:test');
    const env = Object.fromEntries((sidecar!.env ?? []).map((e) => [e.name, e]));
    expect(env.POD_NAMESPACE!.valueFrom!.fieldRef!.fieldPath).toBe('metadata.namespace');
    expect(env.POD_NAME!.valueFrom!.fieldRef!.fieldPath).toBe('metadata.name');
    expect(env.MODELROUTE_DATA_KEY_FILE!.value).toBe('/var/run/secrets/modelroute.dev/data-key/key');
    expect(env.MODELROUTE_REDIS_PASSWORD!.valueFrom!.secretKeyRef).toEqual({ name: 'modelroute-redis', key: 'password' });
    expect(env.MODELROUTE_REDIS_URL!.value).toBe('rediss://:$(MODELROUTE_REDIS_PASSWORD)@redis.example:6380/0');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT!.value).toBe('http://jaeger.observability.svc:4318');
    expect(sidecar!.volumeMounts).toEqual([
      { name: 'modelroute-sidecar-tmp', mountPath: '/tmp' },
      { name: 'modelroute-data-key', mountPath: '/var/run/secrets/modelroute.dev/data-key', readOnly: true },
      {
        name: 'modelroute-sidecar-tmp',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        subPath: 'no-service-account-token',
        readOnly: true,
      },
    ]);
    expect(stored.spec!.volumes!.find((v) => v.name === 'modelroute-sidecar-tmp')!.emptyDir).toEqual({ sizeLimit: '64Mi' });
    expect(stored.spec!.volumes!.find((v) => v.name === 'modelroute-data-key')!.secret).toEqual({
      secretName: 'modelroute-data-key',
      optional: true,
      defaultMode: 0o444,
      items: [{ key: 'key', path: 'key' }],
    });
    expect(stored.spec!.containers![0]!.env).toEqual([{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:15500/v1' }]);
    expect(stored.spec!.containers![1]!.env).toEqual([{ name: 'OPENAI_BASE_URL', value: 'https://api.openai.com/v1' }]);
    expect(stored.metadata!.annotations!['modelroute.dev/status']).toBe('injected');
  });

  it('leaves opted-out Pods and Pods in unlabelled namespaces untouched', async () => {
    const byAnnotation = await createPod(labelledNs, pod('opt-out', { annotations: { 'modelroute.dev/inject': 'false' } }));
    const byLabel = await createPod(labelledNs, pod('opt-out-label', { labels: { 'modelroute.dev/inject': 'disabled' } }));
    const unlabelled = await createPod(plainNs, pod('plain'));
    for (const p of [byAnnotation, byLabel, unlabelled]) {
      expect(p.spec!.initContainers).toBeUndefined();
      expect(p.spec!.containers![0]!.env).toBeUndefined();
      expect(p.metadata!.annotations?.['modelroute.dev/status']).toBeUndefined();
    }
  });

  it('injects a Pod that opts in by label in an unlabelled namespace', async () => {
    const stored = await createPod(plainNs, pod('opt-in', { labels: { 'modelroute.dev/inject': 'enabled' } }));
    expect(sidecars(stored)).toHaveLength(1);
  });

  it('does not duplicate anything when an injected Pod spec is submitted again, or re-applied', async () => {
    const manifest = JSON.stringify({ ...pod('twice-a'), metadata: { ...pod('twice-a').metadata, namespace: labelledNs } });
    const created = await kube.kubectl(['apply', '-f', '-'], manifest);
    expect(created.stdout).toContain('pod/twice-a created');
    const first = await core.readNamespacedPod({ namespace: labelledNs, name: 'twice-a' });
    expect(sidecars(first)).toHaveLength(1);

    // The stored (injected) spec submitted as a new Pod: the webhook sees its sidecar and adds nothing.
    const again = await createPod(labelledNs, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'twice-b', labels: first.metadata!.labels, annotations: first.metadata!.annotations },
      spec: { containers: first.spec!.containers, initContainers: first.spec!.initContainers, volumes: first.spec!.volumes },
    });
    expect(sidecars(again)).toHaveLength(1);
    expect(again.spec!.volumes!.filter((v) => v.name.startsWith('modelroute-'))).toHaveLength(2);
    expect(again.spec!.containers![0]!.env!.filter((e) => e.name === 'OPENAI_BASE_URL')).toHaveLength(1);
    expect(again.spec!.initContainers).toEqual(first.spec!.initContainers);

    // kubectl apply of the same manifest again: nothing is re-added.
    const reapplied = await kube.kubectl(['apply', '-f', '-'], manifest);
    expect(reapplied.stderr).toBe('');
    expect(reapplied.code).toBe(0);
    const after = await core.readNamespacedPod({ namespace: labelledNs, name: 'twice-a' });
    expect(after.spec).toEqual(first.spec);
  });

  it('injects Pods that a Deployment creates through kube-controller-manager', async () => {
    const apps = kube.kubeConfig.makeApiClient(k8s.AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: labelledNs,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } },
        },
      },
    });
    const created = await waitFor(
      async () => (await core.listNamespacedPod({ namespace: labelledNs, labelSelector: 'app=web' })).items[0],
      { timeoutMs: 60_000, message: 'the ReplicaSet to create a Pod' },
    );
    expect(sidecars(created)).toHaveLength(1);
    expect(created.spec!.containers![0]!.env).toEqual([{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:15500/v1' }]);
  });

  it('answers malformed reviews with 400 and a stable code, and other paths with 404, over verified TLS', async () => {
    const secret = await core.readNamespacedSecret({ namespace: systemNs, name: 'modelroute-webhook-tls' });
    const ca = Buffer.from(secret.data!['ca.crt']!, 'base64').toString();
    const post = (url: string, body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(url, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const bad = await post(webhook.url, JSON.stringify({ kind: 'Pod' }));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: 'body is not an AdmissionReview', code: 'ERR_ADMISSION_REVIEW' });
    expect((await post(webhook.url, '{not json')).status).toBe(400);
    expect((await post(webhook.url.replace('/mutate-pods', '/other'), '{}')).status).toBe(404);
  });

  it('rotates the serving certificate before expiry under the same CA, and keeps injecting', async () => {
    const before = await core.readNamespacedSecret({ namespace: systemNs, name: 'modelroute-webhook-tls' });
    const rotated = await ensureWebhookCertificate(kube.kubeConfig, {
      namespace: systemNs,
      secretName: 'modelroute-webhook-tls',
      dnsNames: serviceDnsNames('modelroute-webhook', systemNs),
      ipAddresses: ['127.0.0.1'],
      webhookConfigurationName: configName,
      // A year-long certificate is within 400 days of expiry: this is the "due for renewal" branch.
      renewBeforeDays: 400,
    });
    expect(rotated.issuedBecause).toMatch(/^serving certificate expires /);
    const after = await core.readNamespacedSecret({ namespace: systemNs, name: 'modelroute-webhook-tls' });
    expect(after.data!['tls.crt']).not.toBe(before.data!['tls.crt']);
    expect(after.data!['ca.crt']).toBe(before.data!['ca.crt']);

    // Every replica picks the new pair up from the Secret on its next check.
    await webhook.refresh();
    const stored = await createPod(labelledNs, pod('after-rotation'));
    expect(sidecars(stored)).toHaveLength(1);
  });
});
