import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { binPath } from './bin.js';
import { kubeconfigYaml, launchKube, type KubeHandle } from './kube-launch.js';
import { runCommand, type CommandResult } from './processes.js';

export type { KubeHandle } from './kube-launch.js';

export interface KubeOptions {
  /** Also run kube-controller-manager (Deployments -> ReplicaSets -> Pods, namespace deletion, GC). */
  controllerManager?: boolean;
}

/** A real kube-apiserver (RBAC on) backed by its own etcd, on loopback. No scheduler, no kubelet. */
export interface Kube {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfigPath: string;
  /** Admin KubeConfig for @kubernetes/client-node. */
  kubeConfig: KubeConfig;
  /** PEM of the cluster CA. */
  ca: string;
  /** Temporary directory with this cluster's certificates, logs (kube-apiserver-N.log, etcd.log...) and data. */
  dir: string;
  /** Runs the provisioned kubectl with the admin kubeconfig; never throws on a non-zero exit. */
  kubectl(args: string[], stdin?: string): Promise<CommandResult>;
  /** Credentials of a ServiceAccount (created with its namespace if needed) from a TokenRequest: RBAC applies. */
  serviceAccountKubeConfig(namespace: string, name: string): Promise<KubeConfig>;
  /** The same credentials as a kubeconfig file, e.g. for a child process or kubectl. */
  serviceAccountKubeconfigPath(namespace: string, name: string): Promise<string>;
  /** Restarts kube-apiserver on the same port against the same etcd (clients see a brief outage). */
  restartApiserver(): Promise<void>;
  /** Stops everything this Kube started and removes its files. */
  stop(): Promise<void>;
}

/** Starts etcd, kube-apiserver and optionally kube-controller-manager; resolves once /readyz is ok. */
export async function startKube(opts: KubeOptions = {}): Promise<Kube> {
  const cluster = await launchKube(opts);
  return { ...attachKube(cluster.handle), restartApiserver: cluster.restartApiserver, stop: cluster.stop };
}

/**
 * A Kube for an apiserver that someone else runs (the shared one): everything but lifecycle.
 * `stop()` is a no-op and `restartApiserver()` is left to the owner; see shared.ts.
 */
export function attachKube(handle: KubeHandle): Omit<Kube, 'restartApiserver' | 'stop'> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(handle.kubeconfigPath);
  const kubectlBin = binPath('kubectl');
  const serviceAccountKubeconfigPath = async (namespace: string, name: string): Promise<string> => {
    const token = await requestToken(kubeConfig, namespace, name);
    const path = join(handle.dir, `sa-${namespace}-${name}-${randomBytes(4).toString('hex')}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(handle.server, handle.ca, { token }));
    return path;
  };
  return {
    server: handle.server,
    kubeconfigPath: handle.kubeconfigPath,
    kubeConfig,
    ca: handle.ca,
    dir: handle.dir,
    kubectl: (args, stdin) =>
      runCommand(kubectlBin, ['--kubeconfig', handle.kubeconfigPath, ...args], stdin === undefined ? {} : { stdin }),
    serviceAccountKubeconfigPath,
    async serviceAccountKubeConfig(namespace, name) {
      const kc = new KubeConfig();
      kc.loadFromFile(await serviceAccountKubeconfigPath(namespace, name));
      return kc;
    },
  };
}

async function requestToken(admin: KubeConfig, namespace: string, name: string): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  await ignoreConflict(core.createNamespace({ body: { metadata: { name: namespace } } }));
  await ignoreConflict(core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
  const request = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 409) throw err;
  }
}
