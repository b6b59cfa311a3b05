import { beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { sharedKube, waitFor, type Kube } from '../../helpers/control-plane.js';

describe('kube-controller-manager (shared kube)', () => {
  let kube: Kube;
  const namespace = 'smoke-controllers';

  beforeAll(async () => {
    kube = await sharedKube();
    const created = await kube.kubectl(['create', 'namespace', namespace]);
    expect(created.code === 0 || /AlreadyExists/.test(created.stderr)).toBe(true);
  });

  it('turns a Deployment into a ReplicaSet and Pods (Pending: there is no scheduler or kubelet)', async () => {
    const apps = kube.kubeConfig.makeApiClient(AppsV1Api);
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    const labels = { app: 'smoke-web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] } },
        },
      },
    });

    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=smoke-web' });
        return list.items.length === 2 && list.items;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'the Deployment to have 2 Pods' },
    );

    expect(pods.map((pod) => pod.status?.phase)).toEqual(['Pending', 'Pending']);
    expect(pods[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
    expect(pods[0]?.spec?.serviceAccountName).toBe('default');
  });
});
