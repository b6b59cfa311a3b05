import { beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { sharedKube, waitFor, type Kube } from '../../helpers/control-plane.js';

describe('kube-apiserver: RBAC applies to ServiceAccounts', () => {
  let kube: Kube;
  const namespace = 'smoke-rbac';

  beforeAll(async () => {
    kube = await sharedKube();
  });

  it('denies a ServiceAccount without permission (403) and allows it after a Role and RoleBinding', async () => {
    const asReader = (await kube.serviceAccountKubeConfig(namespace, 'reader')).makeApiClient(CoreV1Api);

    await expect(asReader.listNamespacedConfigMap({ namespace })).rejects.toMatchObject({ code: 403 });

    const admin = kube.kubeConfig.makeApiClient(CoreV1Api);
    await admin.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'visible' } } });
    const rbac = kube.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'reader-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });

    // The RBAC authorizer sees new bindings through an informer: wait for it rather than sleeping.
    const list = await waitFor(() => asReader.listNamespacedConfigMap({ namespace }), {
      timeoutMs: 15_000,
      message: 'the RoleBinding to take effect',
    });
    expect(list.items.map((cm) => cm.metadata?.name)).toContain('visible');
    // Still nothing beyond the Role: writes and other namespaces stay forbidden.
    await expect(
      asReader.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'nope' } } }),
    ).rejects.toMatchObject({ code: 403 });
    await expect(asReader.listNamespacedConfigMap({ namespace: 'default' })).rejects.toMatchObject({ code: 403 });
  });

  it('gives kubectl the same identity through serviceAccountKubeconfigPath', async () => {
    const path = await kube.serviceAccountKubeconfigPath(namespace, 'whoami');

    const result = await kube.kubectl([
      '--kubeconfig',
      path,
      'auth',
      'whoami',
      '-o',
      'jsonpath={.status.userInfo.username}',
    ]);

    expect(result).toMatchObject({ code: 0, stdout: `system:serviceaccount:${namespace}:whoami` });
  });
});
