import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { binPath } from './bin.js';
import { makeCa, makeCert, makeKeyPair, readPem } from './certs.js';
import { startEtcd } from './etcd.js';
import { httpsGet } from './https-get.js';
import { freePort } from './ports.js';
import {
  makeTempDir,
  removeDir,
  runCommand,
  spawnManaged,
  startFailure,
  type CommandResult,
  type ManagedProcess,
} from './processes.js';
import { waitFor } from './wait.js';

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

/** What a process needs to reattach to a running Kube (see shared.ts). */
export interface KubeHandle {
  server: string;
  kubeconfigPath: string;
  ca: string;
  dir: string;
}

const ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Starts etcd, kube-apiserver and optionally kube-controller-manager; resolves once /readyz is ok. */
export async function startKube(opts: KubeOptions = {}): Promise<Kube> {
  const dir = makeTempDir('kube');
  const started: ManagedProcess[] = [];
  try {
    const ca = await makeCa(dir, 'modelroute-test-kube-ca');
    const serving = await makeCert(dir, 'apiserver', ca, {
      commonName: 'kube-apiserver',
      subjectAltNames: ['IP:127.0.0.1', 'DNS:localhost', 'IP:10.0.0.1', 'DNS:kubernetes.default.svc'],
    });
    const admin = await makeCert(dir, 'admin', ca, { commonName: 'admin', organization: 'system:masters' });
    const sa = await makeKeyPair(dir, 'service-account');
    const caPem = readPem(ca.certPath);
    const tls = { ca: caPem, cert: readPem(admin.certPath), key: readPem(admin.keyPath) };

    const etcd = await startEtcd(dir);
    started.push(etcd.process);

    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const apiserverArgs = [
      `--etcd-servers=${etcd.clientUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${serving.certPath}`,
      `--tls-private-key-file=${serving.keyPath}`,
      `--client-ca-file=${ca.certPath}`,
      `--service-account-issuer=${ISSUER}`,
      `--service-account-key-file=${sa.publicPath}`,
      `--service-account-signing-key-file=${sa.privatePath}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // Startup speed and quiet: no API priority and fairness, no endpoint reconciling, no profiling.
      '--enable-priority-and-fairness=false',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
    ];
    let apiserver = await launchApiserver(dir, port, apiserverArgs, tls, 1);
    started.push(apiserver);
    let generation = 1;

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, caPem, { cert: tls.cert, key: tls.key }));

    let controllerManager: ManagedProcess | undefined;
    if (opts.controllerManager) {
      controllerManager = await launchControllerManager(dir, kubeconfigPath, ca.certPath, sa.privatePath);
      started.push(controllerManager);
    }

    const handle: KubeHandle = { server, kubeconfigPath, ca: caPem, dir };
    return {
      ...attachKube(handle),
      async restartApiserver() {
        await apiserver.stop();
        generation += 1;
        apiserver = await launchApiserver(dir, port, apiserverArgs, tls, generation);
        started.push(apiserver);
      },
      async stop() {
        for (const proc of [...started].reverse()) await proc.stop();
        removeDir(dir);
      },
    };
  } catch (err) {
    for (const proc of started.reverse()) await proc.kill();
    throw err;
  }
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

async function launchApiserver(
  dir: string,
  port: number,
  args: string[],
  tls: { ca: string; cert: string; key: string },
  generation: number,
): Promise<ManagedProcess> {
  const proc = spawnManaged({
    name: `kube-apiserver :${port}`,
    command: binPath('kube-apiserver'),
    args,
    logPath: join(dir, `kube-apiserver-${generation}.log`),
  });
  try {
    // /readyz includes the RBAC bootstrap roles, so "ready" means the admin and RBAC both work.
    await waitFor(async () => (await httpsGet(`https://127.0.0.1:${port}/readyz`, tls)).status === 200, {
      timeoutMs: 90_000,
      intervalMs: 200,
      message: `kube-apiserver /readyz on port ${port}`,
      signal: proc.exitSignal,
    });
  } catch (err) {
    await startFailure(proc, err);
  }
  return proc;
}

async function launchControllerManager(
  dir: string,
  kubeconfigPath: string,
  caPath: string,
  saKeyPath: string,
): Promise<ManagedProcess> {
  const proc = spawnManaged({
    name: 'kube-controller-manager',
    command: binPath('kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller',
      `--root-ca-file=${caPath}`,
      `--service-account-private-key-file=${saKeyPath}`,
      '--use-service-account-credentials=false',
      '--profiling=false',
    ],
    logPath: join(dir, 'kube-controller-manager.log'),
  });
  // The serviceaccount controller creating default/default shows the controllers are running.
  const core = kubeConfigFrom(kubeconfigPath).makeApiClient(CoreV1Api);
  try {
    await waitFor(() => core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' }), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'kube-controller-manager to create ServiceAccount default/default',
      signal: proc.exitSignal,
    });
  } catch (err) {
    await startFailure(proc, err);
  }
  return proc;
}

function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
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

function kubeconfigYaml(server: string, ca: string, user: { cert?: string; key?: string; token?: string }): string {
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  const credentials = user.token
    ? { token: user.token }
    : { 'client-certificate-data': b64(user.cert ?? ''), 'client-key-data': b64(user.key ?? '') };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: 'test', user: credentials }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
    'current-context': 'test',
  });
}
