/**
 * `helm install` into a real apiserver with kube-controller-manager, the operator run with the chart's
 * ServiceAccount token (so the chart's RBAC is what it gets), and `helm uninstall` keeping the CRD and
 * the users' ModelRoutes. A private control plane: the chart installs cluster-scoped objects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ensureWebhookCertificate, serviceDnsNames } from '../../../operator/webhook/ensure-certificate.js';
import { helm, startKube, startRedis, waitFor, type Kube, type RedisServer } from '../../helpers/control-plane.js';
import { spawnManaged, type ManagedProcess } from '../../helpers/processes.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const chartDir = join(repo, 'helm/modelroute');
const ns = 'modelroute-system';
const release = 'mr';
const fullname = 'mr-modelroute';
const sa = fullname;
const appNs = 'team-a';

let kube: Kube;
let saKc: k8s.KubeConfig;
let redis: RedisServer | undefined;
let operator: ManagedProcess | undefined;

beforeAll(async () => {
  kube = await startKube({ controllerManager: true });
  const installed = await helm(['install', release, chartDir, '--namespace', ns, '--create-namespace'], {
    kubeconfigPath: kube.kubeconfigPath,
  });
  expect(installed.stderr).toBe('');
  expect(installed.code).toBe(0);
  expect(installed.stdout).toContain('kubectl label namespace my-app modelroute.dev/inject=enabled');
  saKc = await kube.serviceAccountKubeConfig(ns, sa);
  await kube.kubeConfig.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: appNs } } });
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await redis?.stop();
  await kube?.stop();
});

describe('helm install', () => {
  it('creates the CRD, kept on uninstall', async () => {
    const crd = await kube.kubeConfig
      .makeApiClient(k8s.ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'modelroutes.modelroute.dev' });
    expect(crd.metadata!.annotations!['helm.sh/resource-policy']).toBe('keep');
    await waitFor(async () => (await kube.kubectl(['get', 'modelroutes', '-A'])).code === 0, { message: 'CRD established' });
  });

  it('creates the operator Deployment, whose ReplicaSet creates two Pods', async () => {
    const apps = kube.kubeConfig.makeApiClient(k8s.AppsV1Api);
    const deploy = await apps.readNamespacedDeployment({ namespace: ns, name: `${fullname}-operator` });
    expect(deploy.spec!.replicas).toBe(2);
    expect(deploy.spec!.template.spec!.serviceAccountName).toBe(sa);
    const rs = await waitFor(async () => (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app.kubernetes.io/component=operator' })).items[0], {
      timeoutMs: 60_000,
      message: 'the operator ReplicaSet',
    });
    expect(rs.metadata!.ownerReferences![0]!.name).toBe(`${fullname}-operator`);
    const core = kube.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=operator' });
        return list.items.length === 2 && list.items;
      },
      { timeoutMs: 60_000, message: 'two operator Pods' },
    );
    for (const pod of pods) {
      expect(pod.spec!.containers[0]!.securityContext!.readOnlyRootFilesystem).toBe(true);
      expect(pod.spec!.initContainers).toBeUndefined(); // the operator is never injected
    }
  });

  it('creates the ServiceAccount, Services, PDB and the MutatingWebhookConfiguration', async () => {
    const out = await kube.kubectl(['get', '-n', ns, 'serviceaccount,service,poddisruptionbudget', '-o', 'name']);
    expect(out.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        `poddisruptionbudget.policy/${fullname}-operator`,
        `service/${fullname}-metrics`,
        `service/${fullname}-redis`,
        `service/${fullname}-webhook`,
        'serviceaccount/default',
        `serviceaccount/${sa}`,
      ].sort(),
    );
    const mwc = await kube.kubectl(['get', 'mutatingwebhookconfiguration', `${fullname}-${ns}`, '-o', 'jsonpath={.webhooks[*].failurePolicy}']);
    expect(mwc.stdout).toBe('Ignore Ignore');
  });

  it('grants the ClusterRole and Role the chart documents, and nothing else', async () => {
    const rbac = kube.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
    const clusterRole = await rbac.readClusterRole({ name: `${fullname}-operator` });
    const summary = (rules: k8s.V1PolicyRule[]) =>
      rules.map((r) => `${(r.apiGroups ?? []).join(',')}|${(r.resources ?? []).join(',')}|${(r.resourceNames ?? []).join(',')}|${r.verbs.join(',')}`);
    expect(summary(clusterRole.rules!)).toEqual([
      'modelroute.dev|modelroutes||get,list,watch,update,patch',
      'modelroute.dev|modelroutes/status||update,patch',
      'modelroute.dev|modelroutes/finalizers||update',
      '|secrets||get,list,watch,create',
      ',events.k8s.io|events||create,patch',
      `admissionregistration.k8s.io|mutatingwebhookconfigurations|${fullname}-${ns}|get,patch`,
    ]);
    const role = await rbac.readNamespacedRole({ namespace: ns, name: `${fullname}-operator` });
    expect(summary(role.rules!)).toEqual([
      'coordination.k8s.io|leases||create',
      `coordination.k8s.io|leases|${fullname}-leader|get,update`,
      `|secrets|${fullname}-webhook-tls|update`,
    ]);
  });
});

describe('RBAC, as the chart ServiceAccount sees it', () => {
  async function can(attrs: k8s.V1ResourceAttributes): Promise<boolean> {
    const review = await saKc.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: attrs } },
    });
    return review.status!.allowed;
  }

  it.each([
    ['list ModelRoutes cluster-wide', { verb: 'list', group: 'modelroute.dev', resource: 'modelroutes' }, true],
    ['watch ModelRoutes cluster-wide', { verb: 'watch', group: 'modelroute.dev', resource: 'modelroutes' }, true],
    ['update ModelRoute status', { verb: 'update', group: 'modelroute.dev', resource: 'modelroutes', subresource: 'status', namespace: appNs }, true],
    ['create the leader Lease', { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns }, true],
    ['renew the leader Lease', { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: `${fullname}-leader` }, true],
    ['create the data-key Secret', { verb: 'create', resource: 'secrets', namespace: appNs }, true],
    ['create ModelRoutes', { verb: 'create', group: 'modelroute.dev', resource: 'modelroutes', namespace: appNs }, false],
    ['delete ModelRoutes', { verb: 'delete', group: 'modelroute.dev', resource: 'modelroutes', namespace: appNs }, false],
    ['take over other Leases', { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: 'kube-scheduler' }, false],
    ['create Leases in other namespaces', { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: appNs }, false],
    ['update Secrets it did not create', { verb: 'update', resource: 'secrets', namespace: appNs, name: 'openai' }, false],
    ['delete Secrets', { verb: 'delete', resource: 'secrets', namespace: appNs }, false],
    ['list Deployments', { verb: 'list', group: 'apps', resource: 'deployments' }, false],
    ['create Pods', { verb: 'create', resource: 'pods', namespace: appNs }, false],
    ['delete namespaces', { verb: 'delete', resource: 'namespaces', name: appNs }, false],
    ['patch other webhook configurations', { verb: 'patch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', name: 'other' }, false],
    ['escalate through ClusterRoles', { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }, false],
  ] as const)('%s: %s', async (_name, attrs, allowed) => {
    expect(await can(attrs)).toBe(allowed);
  });

  it('is refused by the apiserver when it tries what it may not', async () => {
    const apps = saKc.makeApiClient(k8s.AppsV1Api);
    await expect(apps.listDeploymentForAllNamespaces()).rejects.toMatchObject({ code: 403 });
    await expect(saKc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: appNs })).rejects.toMatchObject({ code: 403 });
  });

  it('can issue, store and rotate the webhook certificate and patch the caBundle (the operator webhook code, SA credentials)', async () => {
    const opts = {
      namespace: ns,
      secretName: `${fullname}-webhook-tls`,
      dnsNames: serviceDnsNames(`${fullname}-webhook`, ns),
      webhookConfigurationName: `${fullname}-${ns}`,
    };
    const first = await ensureWebhookCertificate(saKc, opts);
    expect(first.issuedBecause).toBe('no certificate stored yet');
    expect(first.caBundlePatched).toBe(true);
    const rotated = await ensureWebhookCertificate(saKc, { ...opts, renewBeforeDays: 400 });
    expect(rotated.issuedBecause).toMatch(/expires/);
    const caBundles = await kube.kubectl(['get', 'mutatingwebhookconfiguration', `${fullname}-${ns}`, '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}']);
    const b64 = Buffer.from(rotated.caCert).toString('base64');
    expect(caBundles.stdout).toBe(`${b64} ${b64}`);
  });

  it('runs the operator with the chart ServiceAccount token: it takes the Lease and reconciles a route to Ready', async () => {
    if (!existsOperator()) throw new Error('cli/commands/operator.ts is missing: the operator is not built yet');
    redis = await startRedis();
    // A route with a provider key: the operator must read the Secret and create the namespace's data key.
    const secret = await kube.kubectl(['create', 'secret', 'generic', 'openai', '-n', appNs, '--from-literal=apiKey=sk-test']);
    expect(secret.stderr).toBe('');
    const route = parse(readFileSync(join(repo, 'examples/two-tier-complexity.yaml'), 'utf8')) as Record<string, unknown>;
    const applied = await kube.kubectl(['apply', '-n', appNs, '-f', '-'], JSON.stringify(route));
    expect(applied.stderr).toBe('');
    operator = spawnManaged({
      name: 'modelroute operator (chart SA)',
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        'cli/main.ts',
        'operator',
        `--kubeconfig=${await kube.serviceAccountKubeconfigPath(ns, sa)}`,
        '--leader-elect',
        `--leader-elect-namespace=${ns}`,
        `--leader-elect-name=${fullname}-leader`,
        '--admin=127.0.0.1:0',
      ],
      env: { ...process.env, MODELROUTE_REDIS_URL: redis.url, POD_NAME: 'operator-under-test' },
      cwd: repo,
      logPath: join(kube.dir, 'operator.log'),
    });
    const ready = await waitFor(
      async () => {
        const out = await kube.kubectl(['get', 'modelroute', '-n', appNs, 'chat-auto', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return out.stdout === 'True';
      },
      { timeoutMs: 60_000, intervalMs: 250, signal: operator.exitSignal, message: () => `route Ready; operator log:\n${operator!.logTail(30)}` },
    );
    expect(ready).toBe(true);
    const lease = await kube.kubeConfig.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace: ns, name: `${fullname}-leader` });
    expect(lease.spec!.holderIdentity).toBe('operator-under-test');
    const dataKey = await kube.kubeConfig.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace: appNs, name: 'modelroute-data-key' });
    expect(Buffer.from(dataKey.data!.key!, 'base64')).toHaveLength(32);
    expect(operator.logTail(200)).not.toMatch(/forbidden/i);
  });
});

describe('helm uninstall', () => {
  it('removes the operator but keeps the CRD and existing ModelRoutes', async () => {
    await operator?.stop();
    operator = undefined;
    const kept = { apiVersion: 'modelroute.dev/v1alpha1', kind: 'ModelRoute', metadata: { name: 'survivor', namespace: appNs }, spec: (parse(readFileSync(join(repo, 'examples/vllm-ollama.yaml'), 'utf8')) as { spec: unknown }).spec };
    expect((await kube.kubectl(['apply', '-f', '-'], JSON.stringify(kept))).code).toBe(0);

    const removed = await helm(['uninstall', release, '--namespace', ns], { kubeconfigPath: kube.kubeconfigPath });
    expect(removed.code).toBe(0);
    expect(removed.stdout + removed.stderr).toContain('kept due to the resource policy');

    expect((await kube.kubectl(['get', 'crd', 'modelroutes.modelroute.dev', '-o', 'name'])).stdout.trim()).toBe(
      'customresourcedefinition.apiextensions.k8s.io/modelroutes.modelroute.dev',
    );
    expect((await kube.kubectl(['get', 'modelroutes', '-n', appNs, '-o', 'name'])).stdout.split('\n').filter(Boolean).sort()).toEqual([
      'modelroute.modelroute.dev/chat-auto',
      'modelroute.modelroute.dev/survivor',
    ]);
    for (const gone of [
      ['deployment', '-n', ns, `${fullname}-operator`],
      ['clusterrole', `${fullname}-operator`],
      ['mutatingwebhookconfiguration', `${fullname}-${ns}`],
    ]) {
      await waitFor(async () => (await kube.kubectl(['get', ...gone])).stderr.includes('NotFound'), { message: `${gone.join(' ')} deleted` });
    }
  });

  it('installs again over the kept CRD', async () => {
    const again = await helm(['install', release, chartDir, '--namespace', ns], { kubeconfigPath: kube.kubeconfigPath });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });
});

describe('operator.watchNamespaces', () => {
  it('moves route and Secret access from the ClusterRole into Roles in the watched namespaces only', async () => {
    const scopedNs = 'scoped-system';
    const installed = await helm(
      ['install', 'scoped', chartDir, '--namespace', scopedNs, '--create-namespace', '--set', 'crds.install=false', '--set', `operator.watchNamespaces={${appNs}}`],
      { kubeconfigPath: kube.kubeconfigPath },
    );
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    const scoped = await kube.serviceAccountKubeConfig(scopedNs, 'scoped-modelroute');
    const can = async (attrs: k8s.V1ResourceAttributes) =>
      (await scoped.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attrs } } })).status!
        .allowed;
    expect(await can({ verb: 'list', resource: 'secrets', namespace: appNs })).toBe(true);
    expect(await can({ verb: 'watch', group: 'modelroute.dev', resource: 'modelroutes', namespace: appNs })).toBe(true);
    expect(await can({ verb: 'list', resource: 'secrets', namespace: 'default' })).toBe(false);
    expect(await can({ verb: 'get', resource: 'secrets', namespace: 'kube-system' })).toBe(false);
    expect(await can({ verb: 'list', resource: 'secrets' })).toBe(false);
    expect(await can({ verb: 'list', group: 'modelroute.dev', resource: 'modelroutes' })).toBe(false);
    // Its own certificate Secret only, in its own namespace.
    expect(await can({ verb: 'get', resource: 'secrets', namespace: scopedNs, name: 'scoped-modelroute-webhook-tls' })).toBe(true);
    expect(await can({ verb: 'get', resource: 'secrets', namespace: scopedNs, name: 'other' })).toBe(false);
    const cert = await ensureWebhookCertificate(scoped, {
      namespace: scopedNs,
      secretName: 'scoped-modelroute-webhook-tls',
      dnsNames: serviceDnsNames('scoped-modelroute-webhook', scopedNs),
      webhookConfigurationName: `scoped-modelroute-${scopedNs}`,
    });
    expect(cert.caBundlePatched).toBe(true);
  });
});

function existsOperator(): boolean {
  try {
    readFileSync(join(repo, 'cli/commands/operator.ts'));
    return true;
  } catch {
    return false;
  }
}
