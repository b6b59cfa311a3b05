import { request } from 'node:https';

export interface TlsClient {
  ca: string;
  cert?: string;
  key?: string;
  token?: string;
}

/** GET over TLS with the given trust and credentials; resolves with status and body text. */
export function httpsGet(url: string, tls: TlsClient, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        headers: tls.token ? { authorization: `Bearer ${tls.token}` } : {},
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
