/** Installs the ModelRoute CRD on the shared apiserver and gives each test file its own namespace. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sharedKube, waitFor, type Kube } from '../../helpers/control-plane.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CRD_FILE = `${ROOT}crds/modelroute.dev_modelroutes.yaml`;

export function yamlFiles(dir: string): string[] {
  return readdirSync(`${ROOT}${dir}`)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `${ROOT}${dir}/${f}`);
}

/** A fixture states what each side must say in its header: `# apiserver: ...` and `# validate: ...`. */
export function expectation(file: string, key: 'apiserver' | 'validate'): string {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`# ${key}: `));
  if (!line) throw new Error(`${file} has no '# ${key}:' line`);
  return line.slice(`# ${key}: `.length);
}

export async function kubeWithCRD(namespace: string): Promise<Kube> {
  const kube = await sharedKube();
  // Server-side apply is idempotent, so every test file (and the operator's tests) may install the same CRD.
  const applied = await kube.kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=modelroute-tests',
    '-f',
    CRD_FILE,
  ]);
  if (applied.code !== 0) throw new Error(`CRD rejected by the apiserver: ${applied.stderr}`);
  await waitFor(
    async () =>
      (await kube.kubectl(['wait', '--for=condition=Established', '--timeout=5s', 'crd/modelroutes.modelroute.dev']))
        .code === 0,
    { timeoutMs: 30_000, message: 'CRD modelroutes.modelroute.dev Established' },
  );
  // Discovery lags Established a little; wait until kubectl can map the kind.
  await waitFor(async () => (await kube.kubectl(['get', 'mroute', '-A'])).code === 0, {
    timeoutMs: 30_000,
    message: 'kubectl get mroute works',
  });
  const ns = await kube.kubectl(['create', 'namespace', namespace]);
  if (ns.code !== 0 && !ns.stderr.includes('AlreadyExists')) throw new Error(ns.stderr);
  return kube;
}
