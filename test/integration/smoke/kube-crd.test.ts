import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { sharedKube, waitFor, type Kube } from '../../helpers/control-plane.js';

// A smoke-only group, so this never collides with the real ModelRoute CRD on the shared apiserver.
const group = 'smoke.modelroute.test';
const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1 }
`;

describe('kube-apiserver: CustomResourceDefinitions', () => {
  let kube: Kube;
  const namespace = 'smoke-crd';

  beforeAll(async () => {
    kube = await sharedKube();
    const applied = await kube.kubectl(['apply', '-f', '-'], crd);
    expect(applied).toMatchObject({ code: 0 });
    const created = await kube.kubectl(['create', 'namespace', namespace]);
    expect(created.code === 0 || /AlreadyExists/.test(created.stderr)).toBe(true);
    const extensions = kube.kubeConfig.makeApiClient(ApiextensionsV1Api);
    await waitFor(
      async () => {
        const status = (await extensions.readCustomResourceDefinition({ name: `widgets.${group}` })).status;
        return status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      },
      { timeoutMs: 30_000, message: 'CRD widgets to be Established' },
    );
  });

  afterAll(async () => {
    await kube.kubectl(['delete', 'customresourcedefinition', `widgets.${group}`, '--wait=false']);
  });

  it('stores a custom object and reads it back through CustomObjectsApi', async () => {
    const objects = kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const ref = { group, version: 'v1', namespace, plural: 'widgets' };
    await objects.createNamespacedCustomObject({
      ...ref,
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    });

    const read = (await objects.getNamespacedCustomObject({ ...ref, name: 'w1' })) as {
      metadata: { uid?: string; generation?: number };
      spec: { size: number };
    };

    expect(read.spec).toEqual({ size: 3 });
    expect(read.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(read.metadata.generation).toBe(1);
  });

  it('rejects an object that violates the CRD schema with 422', async () => {
    const objects = kube.kubeConfig.makeApiClient(CustomObjectsApi);

    const attempt = objects.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace,
      plural: 'widgets',
      body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
    });

    await expect(attempt).rejects.toMatchObject({ code: 422 });
    await expect(attempt).rejects.toThrow(
      /spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1/,
    );
  });
});
