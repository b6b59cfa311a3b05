import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  caUsable,
  certificateProblem,
  createCertificateAuthority,
  issueServingCertificate,
} from '../../../operator/webhook/certificates.js';
import { serviceDnsNames } from '../../../operator/webhook/ensure-certificate.js';
import { webhookSettingsFromEnv } from '../../../operator/webhook/run-webhook.js';

const DAY = 86_400_000;
const names = serviceDnsNames('modelroute-webhook', 'modelroute-system');
const ca = createCertificateAuthority('test-ca', 3650);
const leaf = issueServingCertificate(ca, { dnsNames: names, ipAddresses: ['127.0.0.1'], validityDays: 365 });

describe('webhook certificates', () => {
  it('issues a serving certificate for the Service names and loopback, signed by a CA', () => {
    const cert = new X509Certificate(leaf.cert);
    expect(cert.subjectAltName).toBe(
      'DNS:modelroute-webhook, DNS:modelroute-webhook.modelroute-system, DNS:modelroute-webhook.modelroute-system.svc, ' +
        'DNS:modelroute-webhook.modelroute-system.svc.cluster.local, IP Address:127.0.0.1',
    );
    expect(cert.ca).toBe(false);
    expect(new X509Certificate(ca.cert).ca).toBe(true);
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.keyUsage ?? []).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('accepts a fresh pair and says why a pair must be replaced', () => {
    const base = { cert: leaf.cert, caCert: ca.cert, dnsNames: names, ipAddresses: ['127.0.0.1'], renewBeforeDays: 30 };
    expect(certificateProblem(base)).toBeUndefined();
    expect(certificateProblem({ ...base, now: new Date(Date.now() + 340 * DAY) })).toMatch(
      /^serving certificate expires /,
    );
    expect(certificateProblem({ ...base, dnsNames: ['other.svc'] })).toBe('serving certificate lacks other.svc');
    expect(certificateProblem({ ...base, caCert: createCertificateAuthority('other-ca', 10).cert })).toMatch(
      /CA certificate expires|not signed by the CA/,
    );
    expect(certificateProblem({ ...base, caCert: createCertificateAuthority('other-ca', 3650).cert })).toBe(
      'serving certificate is not signed by the CA',
    );
    expect(certificateProblem({ ...base, cert: 'garbage' })).toMatch(/^unparseable certificate/);
    expect(certificateProblem({ ...base, now: new Date(Date.now() - DAY) })).toMatch(
      /^serving certificate not valid before/,
    );
  });

  it('refuses a CA name the apiserver could not parse (PrintableString)', () => {
    expect(() => createCertificateAuthority('ca@cluster', 1)).toThrow(/not a PrintableString/);
  });

  it('keeps a CA only while it outlives two renewal periods', () => {
    expect(caUsable(ca.cert, 30)).toBe(true);
    expect(caUsable(createCertificateAuthority('short', 45).cert, 30)).toBe(false);
    expect(caUsable(leaf.cert, 30)).toBe(false); // not a CA
  });
});

describe('webhookSettingsFromEnv', () => {
  it('is off without MODELROUTE_WEBHOOK_LISTEN', () => {
    expect(webhookSettingsFromEnv({})).toBeUndefined();
  });

  it('reports every problem at once', () => {
    expect(() =>
      webhookSettingsFromEnv({
        MODELROUTE_WEBHOOK_LISTEN: 'nope',
        MODELROUTE_WEBHOOK_CERT_MODE: 'cert-manager',
        MODELROUTE_INJECTION: '{',
      }),
    ).toThrow(
      /MODELROUTE_WEBHOOK_LISTEN: expected host:port.*MODELROUTE_WEBHOOK_CERT_DIR: required with cert-manager.*POD_NAMESPACE: required.*MODELROUTE_INJECTION: not JSON/,
    );
  });

  it('parses what the chart sets', () => {
    const s = webhookSettingsFromEnv({
      MODELROUTE_WEBHOOK_LISTEN: '0.0.0.0:9443',
      POD_NAMESPACE: 'modelroute-system',
      MODELROUTE_WEBHOOK_CONFIGURATION: 'mr-modelroute-modelroute-system',
      MODELROUTE_INJECTION: JSON.stringify({ image: 'img:1', redisUrl: 'redis://r:6379/0' }),
    })!;
    expect(s).toMatchObject({
      host: '0.0.0.0',
      port: 9443,
      certMode: 'self-signed',
      namespace: 'modelroute-system',
      secretName: 'modelroute-webhook-tls',
    });
    expect(s.config.image).toBe('img:1');
    expect(Object.isFrozen(s)).toBe(true);
  });
});
