/**
 * The HTTPS endpoint the apiserver calls. Certificates can be swapped while serving (rotation, or
 * cert-manager renewing the mounted files) through setSecureContext, without dropping connections.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AdmissionReviewError, reviewPod } from './admission.js';
import type { InjectionConfig } from './injection-config.js';

export const MUTATE_PODS_PATH = '/mutate-pods';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface KeyPair {
  cert: string;
  key: string;
}

export interface WebhookServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `port`. */
  port: number;
  config: InjectionConfig;
  /** PEM pair in memory (self-signed mode) ... */
  certificate?: KeyPair;
  /** ... or a directory with tls.crt and tls.key (cert-manager's Secret mounted), re-read periodically. */
  certDir?: string;
  certDirPollMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface WebhookServer {
  readonly port: number;
  readonly url: string;
  setCertificate(pair: KeyPair): void;
  close(): Promise<void>;
}

export class WebhookServerError extends Error {
  readonly code = 'ERR_WEBHOOK_SERVER';
}

/** Starts serving /mutate-pods; resolves once listening. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const log = opts.log ?? (() => undefined);
  if ((opts.certificate === undefined) === (opts.certDir === undefined)) {
    throw new WebhookServerError('startWebhookServer needs exactly one of certificate or certDir');
  }
  let current = opts.certificate ?? (await readCertDir(opts.certDir!));
  const server: Server = createServer({ cert: current.cert, key: current.key, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res, opts.config).catch((err: unknown) => {
      log('error', 'webhook request failed', { error: String(err) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  server.keepAliveTimeout = 30_000;

  const setCertificate = (pair: KeyPair): void => {
    if (pair.cert === current.cert && pair.key === current.key) return;
    server.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' });
    current = pair;
    log('info', 'webhook serving certificate reloaded');
  };

  let poll: NodeJS.Timeout | undefined;
  if (opts.certDir !== undefined) {
    const dir = opts.certDir;
    poll = setInterval(() => {
      // A half-written renewal (new tls.crt, old tls.key) fails in setSecureContext and is retried.
      readCertDir(dir)
        .then(setCertificate)
        .catch((err: unknown) =>
          log('warn', 'cannot load webhook certificate; keeping the current one', { error: String(err) }),
        );
    }, opts.certDirPollMs ?? 30_000);
    poll.unref();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  log('info', 'webhook listening', { host: opts.host, port });
  return {
    port,
    url: `https://${host}:${port}${MUTATE_PODS_PATH}`,
    setCertificate,
    close: () =>
      new Promise<void>((resolve) => {
        if (poll !== undefined) clearInterval(poll);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, config: InjectionConfig): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== MUTATE_PODS_PATH) return send(res, 404, { error: `no handler for ${path}` });
  if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    return send(res, 400, { error: `cannot parse AdmissionReview: ${(err as Error).message}` });
  }
  try {
    send(res, 200, reviewPod(body, config));
  } catch (err) {
    if (err instanceof AdmissionReviewError) return send(res, err.status, { error: err.message, code: err.code });
    throw err;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readCertDir(dir: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([
    readFile(join(dir, 'tls.crt'), 'utf8'),
    readFile(join(dir, 'tls.key'), 'utf8'),
  ]);
  return { cert, key };
}
