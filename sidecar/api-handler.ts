/**
 * The hot path: one function per request. It reads and checks the body, takes the current tables
 * (synchronous), decides (synchronous, pure), then forwards. Every failure becomes an OpenAI-shaped error;
 * nothing a client sends can throw out of here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decide, selectRoute } from '../core/decide.js';
import { RouteError, type DecideContext, type Decision, type RoutingTable } from '../core/api/types.js';
import { Cancel } from './cancel.js';
import type { ClientLimits } from './client-limits.js';
import { SidecarError, sendError } from './errors.js';
import { forward, type ForwarderDeps } from './forwarder.js';
import { parseRequest, type Endpoint } from './parse-request.js';
import { readBody } from './read-body.js';
import type { RequestObserver } from './observer.js';
import type { TableStore } from './table-store.js';

const ENDPOINTS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  '/v1/responses': 'responses',
};

export interface ApiHandlerOptions {
  store: TableStore;
  ctx: DecideContext;
  forwarder: ForwarderDeps;
  bodyLimit: number;
  /** Concurrent-request caps per client address and in total; none when absent. */
  limits?: ClientLimits;
  /** Requests refused before any backend was chosen, by status. */
  onRefused?(status: number, code: string): void;
  /** After each decision (feeds the targetShare calibrators). */
  onDecided?(d: Decision): void;
  observer?: RequestObserver;
}

export function createApiHandler(o: ApiHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const startedAt = performance.now();
    const refused = admit(o.limits, req, res);
    const run = () =>
      (refused ? Promise.reject(refused) : handle(o, req, res, startedAt)).catch((err: unknown) => {
        const e =
          err instanceof SidecarError
            ? err
            : new SidecarError(500, 'internal_error', `sidecar error: ${(err as Error).message}`);
        o.onRefused?.(e.status, e.code);
        o.observer?.failed(req, e.code);
        sendError(res, e);
      });
    // The observer runs the request inside its SERVER span (tracing); it never throws into the request.
    void (o.observer ? o.observer.request(req, res, run) : run());
  };
}

/** Takes a concurrency slot, given back when the response closes (every ending); the refusal if none is free. */
function admit(limits: ClientLimits | undefined, req: IncomingMessage, res: ServerResponse): SidecarError | undefined {
  if (!limits) return undefined;
  const client = req.socket.remoteAddress ?? '-';
  const got = limits.acquire(client);
  if (got === 'ok') {
    res.once('close', () => limits.release(client));
    return undefined;
  }
  req.resume();
  const message =
    got === 'client'
      ? `too many concurrent requests from ${client} (limit ${limits.options.perClient}); retry when one has finished`
      : `too many concurrent requests in this sidecar (limit ${limits.options.total}); retry when one has finished`;
  return new SidecarError(429, 'too_many_streams', message, 'rate_limit_error', { 'retry-after': '1' });
}

async function handle(
  o: ApiHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  startedAt: number,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const endpoint = ENDPOINTS[path];
  if (endpoint === undefined) {
    if (path === '/v1/models' && req.method === 'GET') return listModels(o.store.current(), res);
    req.resume();
    throw new SidecarError(
      404,
      'unknown_endpoint',
      `${req.method} ${path} is not served; try POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses or GET /v1/models`,
    );
  }
  if (req.method !== 'POST') {
    req.resume();
    throw new SidecarError(
      405,
      'method_not_allowed',
      `${path} takes POST, not ${req.method}`,
      'invalid_request_error',
      { allow: 'POST' },
    );
  }
  const raw = await readBody(req, o.bodyLimit);
  const headers = req.headers;
  const parsed = parseRequest(endpoint, raw, (name) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  });
  const tables = o.store.current();
  if (tables.length === 0 && !o.store.ready()) {
    throw new SidecarError(503, 'not_ready', 'the sidecar has not loaded any routing table yet', 'api_error', {
      'retry-after': '1',
    });
  }
  const table = selectRoute(tables, parsed.facts);
  if (!table) {
    const served = servedModels(tables);
    throw new SidecarError(
      404,
      'model_not_found',
      `model '${parsed.facts.model}' is not served here; served: ${served.length > 0 ? served.join(', ') : '(none)'}`,
    );
  }
  let decision;
  const decideStartedAt = performance.now();
  try {
    decision = decide(table, parsed.facts, o.ctx);
  } catch (err) {
    if (err instanceof RouteError) throw new SidecarError(err.status, err.code, err.message);
    throw err;
  }
  o.onDecided?.(decision);
  const f = parsed.facts;
  o.observer?.decided(
    req,
    decision,
    {
      endpoint: f.endpoint,
      stream: parsed.stream,
      messages: f.messages,
      ...(f.maxOutputTokens !== undefined && { maxOutputTokens: f.maxOutputTokens }),
    },
    decideStartedAt,
  );
  const gone = new Cancel();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort(new Error('client closed the connection'));
  });
  await forward(o.forwarder, { res, parsed, decision, startedAt, clientGone: gone });
}

function servedModels(tables: ReadonlyArray<RoutingTable>): string[] {
  return [...new Set(tables.flatMap((t) => t.match.models))].sort();
}

function listModels(tables: ReadonlyArray<RoutingTable>, res: ServerResponse): void {
  const data = servedModels(tables).map((id) => ({ id, object: 'model', created: 0, owned_by: 'modelroute' }));
  const body = JSON.stringify({ object: 'list', data });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
