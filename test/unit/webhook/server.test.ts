/** The HTTPS server on its own: a real TLS listener on port 0, certificates swapped while serving. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createCertificateAuthority, issueServingCertificate } from '../../../operator/webhook/certificates.js';
import { parseInjectionConfig } from '../../../operator/webhook/injection-config.js';
import { startWebhookServer, WebhookServerError } from '../../../operator/webhook/server.js';
import { waitFor } from '../../helpers/wait.js';

const ca = createCertificateAuthority('server-test-ca', 1);
const issue = () =>
  issueServingCertificate(ca, { dnsNames: ['webhook.test'], ipAddresses: ['127.0.0.1'], validityDays: 1 });
const config = parseInjectionConfig({ image: 'img:1', redisUrl: 'redis://r:6379' });
const dir = mkdtempSync(join(tmpdir(), 'modelroute-webhook-certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Serial number of the certificate the server presents, verified against the CA. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'webhook.test' }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('startWebhookServer', () => {
  it('serves the in-memory pair and switches to a new one without restarting', async () => {
    const first = issue();
    const second = issue();
    const server = await startWebhookServer({ host: '127.0.0.1', port: 0, config, certificate: first });
    try {
      const before = await servedSerial(server.port);
      server.setCertificate(second);
      const after = await servedSerial(server.port);
      expect(after).not.toBe(before);
      expect(server.url).toBe(`https://127.0.0.1:${server.port}/mutate-pods`);
    } finally {
      await server.close();
    }
  });

  it('re-reads tls.crt and tls.key from certDir (cert-manager renewing the mounted Secret)', async () => {
    const write = (pair: { cert: string; key: string }) => {
      writeFileSync(join(dir, 'tls.crt'), pair.cert);
      writeFileSync(join(dir, 'tls.key'), pair.key);
    };
    write(issue());
    const server = await startWebhookServer({ host: '127.0.0.1', port: 0, config, certDir: dir, certDirPollMs: 50 });
    try {
      const before = await servedSerial(server.port);
      write(issue());
      await waitFor(async () => (await servedSerial(server.port)) !== before, {
        message: 'the renewed certificate to be served',
      });
    } finally {
      await server.close();
    }
  });

  it('needs exactly one certificate source', async () => {
    await expect(startWebhookServer({ host: '127.0.0.1', port: 0, config })).rejects.toThrow(WebhookServerError);
  });
});
