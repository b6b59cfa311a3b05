import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { binPath } from './bin.js';
import { makeCa, makeCert, makeKeyPair, readPem } from './certs.js';
import { startEtcd } from './etcd.js';
import { httpsGet } from './https-get.js';
import { freePort } from './ports.js';
import {
  makeTempDir,
  removeDir,
  retryOnPortClash,
  spawnManaged,
  startFailure,
  type ManagedProcess,
} from './processes.js';
import { waitFor } from './wait.js';

// Process management only, without @kubernetes/client-node: global-setup loads this through tsx, and
// the client's generated code would cost it seconds on every jest run.

/** What a process needs to reattach to a running cluster (see kube.ts and shared.ts). */
export interface KubeHandle {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfigPath: string;
  /** PEM of the cluster CA. */
  ca: string;
  /** Temporary directory with certificates, logs (kube-apiserver-N.log, etcd.log...) and data. */
  dir: string;
}

/** The processes of one cluster: etcd, kube-apiserver and optionally kube-controller-manager. */
export interface KubeProcesses {
  handle: KubeHandle;
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
// kube-apiserver logs a complete shutdown within milliseconds of SIGTERM but then lingers ~10 s before
// exiting; its data is disposable, so SIGKILL follows after this grace.
const APISERVER_GRACE_MS = 2_000;

/** Starts etcd, kube-apiserver and optionally kube-controller-manager; resolves once they are ready. */
export function launchKube(opts: { controllerManager?: boolean } = {}): Promise<KubeProcesses> {
  return retryOnPortClash(() => launchKubeOnce(opts));
}

async function launchKubeOnce(opts: { controllerManager?: boolean }): Promise<KubeProcesses> {
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
      controllerManager = await launchControllerManager(dir, server, tls, kubeconfigPath, ca.certPath, sa.privatePath);
      started.push(controllerManager);
    }

    return {
      handle: { server, kubeconfigPath, ca: caPem, dir },
      async restartApiserver() {
        await apiserver.stop(APISERVER_GRACE_MS);
        generation += 1;
        apiserver = await launchApiserver(dir, port, apiserverArgs, tls, generation);
        started.push(apiserver);
      },
      async stop() {
        for (const proc of [...started].reverse()) await proc.stop(APISERVER_GRACE_MS);
        removeDir(dir);
      },
    };
  } catch (err) {
    for (const proc of started.reverse()) await proc.kill();
    removeDir(dir);
    throw err;
  }
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
  server: string,
  tls: { ca: string; cert: string; key: string },
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
  const url = `${server}/api/v1/namespaces/default/serviceaccounts/default`;
  try {
    await waitFor(async () => (await httpsGet(url, tls)).status === 200, {
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

export function kubeconfigYaml(
  server: string,
  ca: string,
  user: { cert?: string; key?: string; token?: string },
): string {
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
