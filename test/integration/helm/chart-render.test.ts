/**
 * The chart as files: helm lint, helm template with the default and the production values, the JSON
 * schema rejecting typos, the CRD copy check, and the rendered manifests accepted by a real apiserver
 * (kubectl apply --dry-run=server runs admission and validation, persisting nothing).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isMap, isScalar, parseAllDocuments, parseDocument, type YAMLMap } from 'yaml';
import { parseOperatorConfig } from '../../../operator/config.js';
import { webhookSettingsFromEnv } from '../../../operator/webhook/run-webhook.js';
import { helm, sharedKube, type Kube } from '../../helpers/control-plane.js';
import { makeTempDir, removeDir, runCommand } from '../../helpers/processes.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
// helm built from source assumes Kubernetes v1.20 for `template`; the chart needs >= 1.29 (native sidecars).
const KUBE_VERSION = ['--kube-version', 'v1.36.3'];
const chartDir = join(repo, 'helm/modelroute');
const productionValues = join(repo, 'helm/values-production.yaml');
const run = randomBytes(3).toString('hex');
const namespace = `mr-render-${run}`;
const tmp = makeTempDir('helm-render');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

async function template(...args: string[]): Promise<Manifest[]> {
  const result = await helm(['template', ...KUBE_VERSION, `mr-${run}`, chartDir, '--namespace', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const find = (ms: Manifest[], kind: string, suffix = '') => {
  const found = ms.filter((m) => m.kind === kind && m.metadata.name.endsWith(suffix));
  expect(found.map((m) => `${m.kind}/${m.metadata.name}`)).toHaveLength(1);
  return found[0] as Manifest & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

let kube: Kube;
beforeAll(async () => {
  kube = await sharedKube();
  const created = await kube.kubectl(['create', 'namespace', namespace]);
  expect(created.stderr).toBe('');
});
afterAll(async () => {
  await kube?.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  removeDir(tmp);
});

describe('helm lint', () => {
  it.each([
    ['default values', []],
    ['production values', ['--values', productionValues]],
  ])('is clean with %s', async (_name, args) => {
    const result = await helm(['lint', '--strict', chartDir, ...args]);
    expect(result.stdout + result.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.code).toBe(0);
  });
});

describe('helm template', () => {
  it('renders the operator hardened, with leader election, probes on the admin port and a PDB', async () => {
    const ms = await template();
    const deploy = find(ms, 'Deployment', '-operator');
    expect(deploy.spec.replicas).toBe(2);
    const pod = deploy.spec.template.spec;
    const [c] = pod.containers;
    expect(c.args).toEqual(expect.arrayContaining(['operator', '--leader-elect', '--admin=0.0.0.0:15600']));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(c.ports).toEqual(expect.arrayContaining([{ name: 'admin', containerPort: 15600, protocol: 'TCP' }]));
    expect(c.resources.requests).toEqual({ cpu: '50m', memory: '96Mi' });
    expect(find(ms, 'PodDisruptionBudget').spec.minAvailable).toBe(1);
    const crd = find(ms, 'CustomResourceDefinition');
    expect(crd.metadata.name).toBe('modelroutes.modelroute.dev');
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    // The default is the in-chart Redis, so `helm install` works with no other setup.
    expect(ms.some((m) => m.kind === 'Deployment' && m.metadata.name.endsWith('-redis'))).toBe(true);
    const env = Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env.MODELROUTE_REDIS_URL).toBe(`redis://mr-${run}-modelroute-redis.${namespace}.svc:6379/0`);
    expect(JSON.parse(env.MODELROUTE_INJECTION)).toMatchObject({ image: 'ghcr.io/modelroute/modelroute:0.1.0' });
  });

  it('scopes the webhook to opted-in namespaces and Pods, failing open by default', async () => {
    const mwc = find(await template(), 'MutatingWebhookConfiguration');
    expect(mwc.webhooks.map((w: { name: string }) => w.name)).toEqual(['namespace.inject.modelroute.dev', 'pod.inject.modelroute.dev']);
    for (const w of mwc.webhooks) {
      expect(w.failurePolicy).toBe('Ignore');
      expect(w.sideEffects).toBe('None');
      expect(w.clientConfig.service).toMatchObject({ namespace, path: '/mutate-pods', port: 443 });
      expect(w.namespaceSelector.matchExpressions).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [namespace, 'kube-system', 'kube-public', 'kube-node-lease'],
      });
    }
    expect(mwc.webhooks[0].namespaceSelector.matchExpressions[0]).toEqual({ key: 'modelroute.dev/inject', operator: 'In', values: ['enabled'] });
    expect(mwc.webhooks[1].objectSelector).toEqual({ matchLabels: { 'modelroute.dev/inject': 'enabled' } });
  });

  it('renders the production values: external TLS Redis with a password Secret, OTel, failurePolicy Fail', async () => {
    const ms = await template('--values', productionValues);
    expect(ms.some((m) => m.metadata.name.endsWith('-redis'))).toBe(false);
    const c = find(ms, 'Deployment', '-operator').spec.template.spec.containers[0];
    const names = c.env.map((e: { name: string }) => e.name);
    const env = Object.fromEntries(c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e]));
    expect(env.MODELROUTE_REDIS_PASSWORD.valueFrom).toEqual({ secretKeyRef: { name: 'modelroute-redis', key: 'password' } });
    expect(env.MODELROUTE_REDIS_URL.value).toBe('rediss://:$(MODELROUTE_REDIS_PASSWORD)@modelroute-redis.redis.svc.cluster.local:6380/0');
    expect(names.indexOf('MODELROUTE_REDIS_PASSWORD')).toBeLessThan(names.indexOf('MODELROUTE_REDIS_URL'));
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT.value).toBe('http://otel-collector.observability.svc:4318');
    expect(env.OTEL_TRACES_SAMPLER_ARG.value).toBe('0.2');
    expect(c.image).toBe('registry.example.com/platform/modelroute:0.1.0');
    // The kubelet turns $$( into a literal $( instead of expanding the password into the config.
    const injection = JSON.parse(env.MODELROUTE_INJECTION.value.replaceAll('$$(', '$('));
    expect(env.MODELROUTE_INJECTION.value).toContain('rediss://:$$(MODELROUTE_REDIS_PASSWORD)@');
    expect(env.MODELROUTE_INJECTION.value).not.toMatch(/[^$]\$\(MODELROUTE_REDIS_PASSWORD\)/);
    expect(injection).toMatchObject({
      image: 'registry.example.com/platform/modelroute:0.1.0',
      redisPasswordSecret: { name: 'modelroute-redis', key: 'password' },
      redisUrl: 'rediss://:$(MODELROUTE_REDIS_PASSWORD)@modelroute-redis.redis.svc.cluster.local:6380/0',
      otel: { endpoint: 'http://otel-collector.observability.svc:4318', sampler: 'parentbased_traceidratio', samplerArg: '0.2' },
      logLevel: 'warn',
    });
    expect(find(ms, 'Deployment', '-operator').spec.replicas).toBe(3);
    expect(find(ms, 'PodDisruptionBudget').spec.minAvailable).toBe(2);
    for (const w of find(ms, 'MutatingWebhookConfiguration').webhooks) expect(w.failurePolicy).toBe('Fail');
  });

  it('with cert-manager, renders a Certificate and asks the cainjector for the caBundle', async () => {
    const ms = await template('--set', 'webhook.certificates.mode=cert-manager');
    const cert = find(ms, 'Certificate');
    expect(cert.spec.dnsNames).toEqual([`mr-${run}-modelroute-webhook.${namespace}.svc`, `mr-${run}-modelroute-webhook.${namespace}.svc.cluster.local`]);
    expect(find(ms, 'MutatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(
      `${namespace}/mr-${run}-modelroute-webhook`,
    );
    const pod = find(ms, 'Deployment', '-operator').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'webhook-tls', secret: { secretName: `mr-${run}-modelroute-webhook-tls` } });
    // cert-manager owns the certificate: the operator gets no right to patch the webhook configuration.
    const rules = find(ms, 'ClusterRole').rules as { resources: string[] }[];
    expect(rules.some((r) => r.resources.includes('mutatingwebhookconfigurations'))).toBe(false);
  });

  it('with operator.watchNamespaces, grants routes and Secrets per namespace instead of cluster-wide', async () => {
    const ms = await template('--set', 'operator.watchNamespaces={team-a,team-b}');
    const rules = find(ms, 'ClusterRole').rules as { resources: string[] }[];
    expect(rules.map((r) => r.resources)).toEqual([['mutatingwebhookconfigurations']]);
    const roles = ms.filter((m) => m.kind === 'Role' && m.metadata.name.endsWith('-routes'));
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    const bindings = ms.filter((m) => m.kind === 'RoleBinding' && m.metadata.name.endsWith('-routes'));
    expect(bindings.map((b) => b.metadata.namespace)).toEqual(['team-a', 'team-b']);
    const args = find(ms, 'Deployment', '-operator').spec.template.spec.containers[0].args;
    expect(args).toContain('--namespaces=team-a,team-b');
  });

  it('with a private Redis CA and a Redis Cluster: the operator mounts the CA, sidecars are told to', async () => {
    const ms = await template(
      '--set', 'redis.inChart.enabled=false',
      '--set', 'redis.external.url=rediss://redis.example:6380',
      '--set', 'redis.external.caSecret.name=redis-ca',
      '--set', 'redis.external.cluster=true',
    );
    const spec = find(ms, 'Deployment', '-operator').spec.template.spec;
    const env = Object.fromEntries(spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env.MODELROUTE_REDIS_CA_FILE).toBe('/etc/modelroute/redis-ca/ca.crt');
    expect(env.MODELROUTE_REDIS_CLUSTER).toBe('true');
    expect(spec.volumes).toContainEqual({ name: 'redis-ca', secret: { secretName: 'redis-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'redis-ca', mountPath: '/etc/modelroute/redis-ca', readOnly: true });
    expect(JSON.parse(env.MODELROUTE_INJECTION)).toMatchObject({ redisCaSecret: { name: 'redis-ca', key: 'ca.crt' }, redisCluster: true });
  });

  it('leaves the CRD out when crds.install is false', async () => {
    expect((await template('--set', 'crds.install=false')).some((m) => m.kind === 'CustomResourceDefinition')).toBe(false);
  });
});

/**
 * The environment a container would see: $(VAR) expanded from variables defined earlier in the list and
 * $$ unescaped, as the kubelet does; valueFrom entries get placeholder values.
 */
function kubeletEnv(env: { name: string; value?: string; valueFrom?: unknown }[], namespace: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const e of env) {
    if (e.value === undefined) {
      out[e.name] = e.name === 'POD_NAMESPACE' ? namespace : `<${e.name} from valueFrom>`;
      continue;
    }
    out[e.name] = e.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
      m === '$$' ? '$' : (out[name!] ?? m),
    );
  }
  return out;
}

describe('the operator reads the chart', () => {
  it('accepts the args and env the Deployment renders (flags and leader election as the chart means them)', async () => {
    const c = find(await template('--values', productionValues, '--set', 'operator.watchNamespaces={team-a,team-b}'), 'Deployment', '-operator')
      .spec.template.spec.containers[0];
    expect(c.args[0]).toBe('operator');
    const config = parseOperatorConfig(c.args.slice(1), kubeletEnv(c.env, namespace));
    expect(config).toMatchObject({
      leaderElect: true,
      leaderElectNamespace: namespace,
      leaderElectName: `mr-${run}-modelroute-leader`,
      admin: { host: '0.0.0.0', port: 15600 },
      namespaces: ['team-a', 'team-b'],
      logLevel: 'info',
    });
    expect(config.redisUrl).toBe('rediss://:<MODELROUTE_REDIS_PASSWORD from valueFrom>@modelroute-redis.redis.svc.cluster.local:6380/0');
  });


  it.each([
    ['default values', [] as string[]],
    ['production values', ['--values', productionValues]],
  ])('parses its webhook settings from the env rendered with %s, with no password in the injection config', async (_n, args) => {
    const c = find(await template(...args), 'Deployment', '-operator').spec.template.spec.containers[0];
    const env = kubeletEnv(c.env, namespace);
    const settings = webhookSettingsFromEnv(env)!;
    expect(settings).toMatchObject({
      host: '0.0.0.0',
      port: 9443,
      certMode: 'self-signed',
      namespace,
      secretName: `mr-${run}-modelroute-webhook-tls`,
      serviceName: `mr-${run}-modelroute-webhook`,
      webhookConfigurationName: `mr-${run}-modelroute-${namespace}`,
    });
    // The operator's own URL has the password expanded; the one it writes into app Pods must not.
    expect(settings.config.redisUrl).not.toContain('<MODELROUTE_REDIS_PASSWORD');
    if (args.length > 0) {
      expect(env.MODELROUTE_REDIS_URL).toContain(':<MODELROUTE_REDIS_PASSWORD from valueFrom>@');
      expect(settings.config.redisUrl).toBe('rediss://:$(MODELROUTE_REDIS_PASSWORD)@modelroute-redis.redis.svc.cluster.local:6380/0');
    }
  });
});

describe('values.yaml', () => {
  it('documents every key with a comment', () => {
    const doc = parseDocument(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
    const undocumented: string[] = [];
    // yaml attaches the comment above a map's first key to the map itself.
    const walk = (map: YAMLMap, path: string, mapComment: boolean): void => {
      map.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const commented = Boolean((pair.key as { commentBefore?: string }).commentBefore) || (i === 0 && mapComment);
        if (!commented) undocumented.push(path + key);
        // resources follow Kubernetes' own shape, documented once at the key.
        if (isMap(pair.value) && key !== 'resources') walk(pair.value, `${path}${key}.`, Boolean(pair.value.commentBefore));
      });
    };
    walk(doc.contents as YAMLMap, '', true);
    expect(undocumented).toEqual([]);
  });
});

describe('values.schema.json', () => {
  it.each([
    ['a misspelt key', 'operator:\n  replicaCout: 3\n', "additional properties 'replicaCout' not allowed"],
    ['a misspelt nested key', 'redis:\n  external:\n    passwordSecrett: {name: x}\n', "additional properties 'passwordSecrett' not allowed"],
    ['an unknown top-level key', 'webhooks:\n  enabled: false\n', "additional properties 'webhooks' not allowed"],
    ['a bad failurePolicy', 'webhook:\n  failurePolicy: Sometimes\n', 'failurePolicy'],
    ['a resource name typo', 'operator:\n  resources:\n    requests:\n      memroy: 1Gi\n', 'memroy'],
    ['a Redis URL with a password in it', 'redis:\n  external:\n    url: rediss://:hunter2@redis:6380\n', 'url'],
  ])('rejects %s', async (_name, yaml, message) => {
    const file = join(tmp, `${randomBytes(4).toString('hex')}.yaml`);
    writeFileSync(file, yaml);
    const result = await helm(['template', ...KUBE_VERSION, 'mr', chartDir, '--values', file]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(message);
  });

  it('fails with a clear message when Redis is neither in-chart nor external', async () => {
    const result = await helm(['template', ...KUBE_VERSION, 'mr', chartDir, '--set', 'redis.inChart.enabled=false']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('redis.external.url is required unless redis.inChart.enabled is true');
  });

  it('refuses two replicas without leader election', async () => {
    const result = await helm(['template', ...KUBE_VERSION, 'mr', chartDir, '--set', 'operator.leaderElect=false']);
    expect(result.stderr).toContain('operator.leaderElect must be true when operator.replicaCount > 1');
  });
});

describe('CRD copy', () => {
  it('is in sync with crds/, and check-crds.sh notices drift', async () => {
    const ok = await runCommand('bash', [join(repo, 'scripts/check-crds.sh')]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);

    const copy = join(tmp, 'repo');
    for (const dir of ['scripts', 'crds', 'helm/modelroute/files/crds']) {
      mkdirSync(join(copy, dir), { recursive: true });
      cpSync(join(repo, dir), join(copy, dir), { recursive: true });
    }
    appendFileSync(join(copy, 'crds/modelroute.dev_modelroutes.yaml'), '# edited\n');
    const drift = await runCommand('bash', [join(copy, 'scripts/check-crds.sh')]);
    expect(drift.code).toBe(1);
    expect(drift.stderr).toContain('run scripts/sync-crds.sh');

    const synced = await runCommand('bash', [join(copy, 'scripts/sync-crds.sh')]);
    expect(synced.code).toBe(0);
    expect((await runCommand('bash', [join(copy, 'scripts/check-crds.sh')])).code).toBe(0);
  });
});

describe('kubectl apply --dry-run=server', () => {
  it.each([
    ['default values', [] as string[]],
    ['production values', ['--values', productionValues]],
    ['external Redis without a password', ['--set', 'redis.inChart.enabled=false', '--set', 'redis.external.url=redis://r:6379']],
  ])('accepts every manifest rendered with %s', async (_name, args) => {
    const rendered = await helm(['template', ...KUBE_VERSION, `mr-${run}`, chartDir, '--namespace', namespace, ...args]);
    expect(rendered.code).toBe(0);
    // Server-side apply: other test files create the CRD on the shared apiserver without kubectl's
    // last-applied annotation, which client-side apply would warn about.
    const applied = await kube.kubectl(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=helm-render-test', '--dry-run=server', '-f', '-'],
      rendered.stdout,
    );
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const kinds = applied.stdout.split('\n').filter((l) => l.includes('(server dry run)')).map((l) => l.split('/')[0]);
    expect(new Set(kinds)).toEqual(
      new Set([
        'customresourcedefinition.apiextensions.k8s.io',
        'serviceaccount',
        'clusterrole.rbac.authorization.k8s.io',
        'clusterrolebinding.rbac.authorization.k8s.io',
        'role.rbac.authorization.k8s.io',
        'rolebinding.rbac.authorization.k8s.io',
        'service',
        'deployment.apps',
        'poddisruptionbudget.policy',
        'mutatingwebhookconfiguration.admissionregistration.k8s.io',
      ]),
    );
  });
});
