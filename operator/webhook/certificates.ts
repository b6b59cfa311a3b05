/**
 * The webhook's own PKI: a long-lived self-signed CA (its certificate is the caBundle the apiserver
 * trusts) and a shorter-lived serving certificate it signs. Rotating the serving certificate keeps the
 * CA, so the caBundle does not change and no request fails during a rotation.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface CertificateAuthority {
  cert: string;
  key: string;
}

export interface ServingCertificateRequest {
  dnsNames: string[];
  ipAddresses?: string[];
  validityDays: number;
  now?: Date;
}

const DAY_MS = 86_400_000;

function newKeyPair(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.PrivateKey; keyPem: string } {
  // Node's native generator: node-forge's pure-JS RSA keygen takes seconds.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
    keyPem: privateKey,
  };
}

function baseCertificate(publicKey: forge.pki.PublicKey, now: Date, validityDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive 127-bit serial: a leading 0 nibble keeps the DER integer non-negative.
  cert.serialNumber = '0' + randomBytes(16).toString('hex').slice(1);
  // Backdated so a node whose clock is slightly behind still accepts a fresh certificate.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + validityDays * DAY_MS);
  return cert;
}

/** `commonName` is encoded as a PrintableString, which Go's x509 (the apiserver) checks strictly. */
export function createCertificateAuthority(
  commonName: string,
  validityDays: number,
  now = new Date(),
): CertificateAuthority {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]+$/.test(commonName)) {
    throw new Error(`CA common name '${commonName}' is not a PrintableString`);
  }
  const { publicKey, privateKey, keyPem } = newKeyPair();
  const cert = baseCertificate(publicKey, now, validityDays);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

export function issueServingCertificate(
  ca: CertificateAuthority,
  req: ServingCertificateRequest,
): { cert: string; key: string } {
  if (req.dnsNames.length === 0 && (req.ipAddresses ?? []).length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const { publicKey, keyPem } = newKeyPair();
  const cert = baseCertificate(publicKey, req.now ?? new Date(), req.validityDays);
  cert.setSubject([{ name: 'commonName', value: req.dnsNames[0] ?? req.ipAddresses![0]! }]);
  cert.setIssuer([{ name: 'commonName', value: new X509Certificate(ca.cert).subject.replace(/^CN=/, '') }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...req.dnsNames.map((value) => ({ type: 2, value })),
        ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

/** Why a stored pair must be replaced, or undefined when it is good for at least `renewBeforeDays`. */
export function certificateProblem(opts: {
  cert: string;
  caCert: string;
  dnsNames: string[];
  ipAddresses?: string[];
  renewBeforeDays: number;
  now?: Date;
}): string | undefined {
  let leaf: X509Certificate;
  let ca: X509Certificate;
  try {
    leaf = new X509Certificate(opts.cert);
    ca = new X509Certificate(opts.caCert);
  } catch (err) {
    return `unparseable certificate: ${(err as Error).message}`;
  }
  const now = (opts.now ?? new Date()).getTime();
  const horizon = now + opts.renewBeforeDays * DAY_MS;
  if (new Date(leaf.validFrom).getTime() > now) return `serving certificate not valid before ${leaf.validFrom}`;
  if (new Date(leaf.validTo).getTime() < horizon) return `serving certificate expires ${leaf.validTo}`;
  if (new Date(ca.validTo).getTime() < horizon) return `CA certificate expires ${ca.validTo}`;
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'serving certificate is not signed by the CA';
  const sans = new Set((leaf.subjectAltName ?? '').split(', '));
  const missing = [
    ...opts.dnsNames.filter((n) => !sans.has(`DNS:${n}`)),
    ...(opts.ipAddresses ?? []).filter((ip) => !sans.has(`IP Address:${ip}`)),
  ];
  if (missing.length > 0) return `serving certificate lacks ${missing.join(', ')}`;
  return undefined;
}

/** True when the CA can keep signing: valid well beyond the renewal horizon. */
export function caUsable(caCert: string, renewBeforeDays: number, now = new Date()): boolean {
  try {
    const ca = new X509Certificate(caCert);
    return new Date(ca.validTo).getTime() > now.getTime() + 2 * renewBeforeDays * DAY_MS && ca.ca;
  } catch {
    return false;
  }
}
