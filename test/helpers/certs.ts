import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from './processes.js';

/** A PEM certificate and key on disk. */
export interface CertFiles {
  certPath: string;
  keyPath: string;
}

// P-256 keys: generated in milliseconds, accepted by Go (etcd, kube, jaeger) and Redis' OpenSSL alike.
const keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeCa(dir: string, commonName: string): Promise<CertFiles> {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  await mustRun('openssl', [
    'req',
    '-x509',
    ...keyArgs,
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '7',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certPath, keyPath };
}

export interface LeafOptions {
  commonName: string;
  organization?: string;
  /** e.g. ['IP:127.0.0.1', 'DNS:localhost']; set for serving certificates. */
  subjectAltNames?: string[];
}

/** A certificate signed by `ca`, usable for both serving and client authentication. */
export async function makeCert(dir: string, name: string, ca: CertFiles, opts: LeafOptions): Promise<CertFiles> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const extPath = join(dir, `${name}.ext`);
  const subject = `${opts.organization ? `/O=${opts.organization}` : ''}/CN=${opts.commonName}`;
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    ...(opts.subjectAltNames?.length ? [`subjectAltName=${opts.subjectAltNames.join(',')}`] : []),
  ];
  writeFileSync(extPath, `${ext.join('\n')}\n`);
  await mustRun('openssl', ['req', '-new', ...keyArgs, '-keyout', keyPath, '-out', csrPath, '-subj', subject]);
  await mustRun('openssl', [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-set_serial',
    `0x${randomBytes(12).toString('hex')}`,
    '-days',
    '7',
    '-extfile',
    extPath,
    '-out',
    certPath,
  ]);
  return { certPath, keyPath };
}

/** An EC key pair (private PEM and public PEM), e.g. for signing ServiceAccount tokens. */
export async function makeKeyPair(dir: string, name: string): Promise<{ privatePath: string; publicPath: string }> {
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  await mustRun('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    privatePath,
  ]);
  await mustRun('openssl', ['pkey', '-in', privatePath, '-pubout', '-out', publicPath]);
  return { privatePath, publicPath };
}

export function readPem(path: string): string {
  return readFileSync(path, 'utf8');
}
