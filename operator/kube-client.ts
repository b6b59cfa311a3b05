/**
 * The few apiserver calls the reconciler makes, behind one small interface. Writes use PUT with the object's
 * resourceVersion (optimistic concurrency): a 409 means someone else changed it and we must re-read.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL, type ModelRoute, type ModelRouteStatus } from '../core/api/types.js';
import { DATA_KEY_BYTES } from '../core/crypto/seal.js';
import { isConflict, isNotFound, OperatorError, withTimeout } from './errors.js';
import { makeApi } from './kube-api.js';

export const DATA_KEY_SECRET = 'modelroute-data-key';
export const DATA_KEY_FIELD = 'key';
const CALL_TIMEOUT_MS = 15_000;

export interface RouteEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class KubeClient {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly component = 'modelroute-operator',
    private readonly instance = 'modelroute-operator',
  ) {
    this.custom = makeApi(kc, CustomObjectsApi, CALL_TIMEOUT_MS);
    this.core = makeApi(kc, CoreV1Api, CALL_TIMEOUT_MS);
  }

  async getRoute(namespace: string, name: string): Promise<ModelRoute | undefined> {
    try {
      return (await this.call(
        this.custom.getNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          plural: PLURAL,
          namespace,
          name,
        }),
        `get modelroute ${namespace}/${name}`,
      )) as ModelRoute;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Replaces the route's metadata/spec (finalizers); returns the updated object. */
  async replaceRoute(route: ModelRoute): Promise<ModelRoute> {
    const { namespace = 'default', name } = route.metadata;
    return (await this.call(
      this.custom.replaceNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: route,
      }),
      `update modelroute ${namespace}/${name}`,
    )) as ModelRoute;
  }

  /** Writes status; 409 surfaces as ERR_OPERATOR_CONFLICT for the caller to re-read and retry. */
  async replaceStatus(route: ModelRoute, status: ModelRouteStatus): Promise<ModelRoute> {
    const { namespace = 'default', name } = route.metadata;
    try {
      return (await this.call(
        this.custom.replaceNamespacedCustomObjectStatus({
          group: API_GROUP,
          version: API_VERSION,
          plural: PLURAL,
          namespace,
          name,
          body: { ...route, status },
        }),
        `update status of modelroute ${namespace}/${name}`,
      )) as ModelRoute;
    } catch (err) {
      if (isConflict(err))
        throw new OperatorError('ERR_OPERATOR_CONFLICT', `status of ${namespace}/${name} changed meanwhile`, {
          cause: err,
        });
      throw err;
    }
  }

  /** A Secret with its data, or undefined when it does not exist. */
  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.call(this.core.readNamespacedSecret({ namespace, name }), `get secret ${namespace}/${name}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The namespace's data key, created with 32 random bytes if missing and never overwritten: sidecars of the
   * namespace hold the same Secret, and replacing it would orphan every sealed credential.
   */
  async ensureDataKey(namespace: string): Promise<Buffer> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const s = await this.call(
          this.core.readNamespacedSecret({ namespace, name: DATA_KEY_SECRET }),
          `get data key in ${namespace}`,
        );
        const key = Buffer.from(s.data?.[DATA_KEY_FIELD] ?? '', 'base64');
        if (key.length !== DATA_KEY_BYTES) {
          throw new OperatorError(
            'ERR_OPERATOR_KUBE',
            `Secret ${namespace}/${DATA_KEY_SECRET} key '${DATA_KEY_FIELD}' holds ${key.length} bytes, expected ${DATA_KEY_BYTES}; delete it to let the operator create a new one`,
          );
        }
        return key;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      try {
        await this.call(
          this.core.createNamespacedSecret({
            namespace,
            body: {
              metadata: { name: DATA_KEY_SECRET, labels: { 'app.kubernetes.io/managed-by': this.component } },
              type: 'Opaque',
              data: { [DATA_KEY_FIELD]: randomBytes(DATA_KEY_BYTES).toString('base64') },
            },
          }),
          `create data key in ${namespace}`,
        );
      } catch (err) {
        // Created by someone else (another operator replica) between our read and create: read theirs.
        if (!isConflict(err)) throw err;
      }
    }
    throw new OperatorError('ERR_OPERATOR_KUBE', `could not read or create Secret ${namespace}/${DATA_KEY_SECRET}`);
  }

  /** Records a core/v1 Event on the route; failures are the caller's to log, never fatal. */
  async event(route: ModelRoute, e: RouteEvent): Promise<void> {
    const { namespace = 'default', name, uid, resourceVersion } = route.metadata;
    const now = new Date();
    await this.call(
      this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
          involvedObject: {
            apiVersion: `${API_GROUP}/${API_VERSION}`,
            kind: 'ModelRoute',
            namespace,
            name,
            uid,
            resourceVersion,
          },
          type: e.type,
          reason: e.reason,
          message: e.message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      }),
      `create event for ${namespace}/${name}`,
    );
  }

  private call<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, CALL_TIMEOUT_MS, what);
  }
}
