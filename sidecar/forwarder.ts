/**
 * Sends one decided request upstream and the answer back to the client. Backends are tried in the
 * decision's order, each up to `retry.attempts` times, but only while nothing has reached the client: once
 * the first byte is written the answer is committed, and a failure mid-stream ends it with an SSE error
 * event (and counts against the backend's circuit). Open circuits are skipped without waiting. Usage is recorded after the answer, off the hot path.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Decision, FailureKind, TableBackend } from '../core/api/types.js';
import { Cancel, sleepUnless } from './cancel.js';
import { parseRetryAfter, type CircuitBreakers } from './circuit-breaker.js';
import type { Credentials } from './credentials.js';
import { SidecarError, sendError } from './errors.js';
import { explainHeaders } from './explain-headers.js';
import type { AttemptObserver } from './observer.js';
import type { ParsedRequest } from './parse-request.js';
import { settleUsage } from './settle-usage.js';
import { stream } from './stream-answer.js';
import { upstreamBody } from './upstream-body.js';
import type { UpstreamPools } from './upstream-pools.js';
import { targetOf } from './upstream-target.js';
import { outputTextOf, usageFrom, type Tokens } from './usage-extract.js';

export interface ForwarderDeps {
  pools: UpstreamPools;
  breakers: CircuitBreakers;
  credentials: Credentials;
  /** Called once per answered request with its token counts (never throws into the request). */
  onUsage(d: Decision, backend: TableBackend, tokens: Tokens): void;
  onUpstreamLatency(d: Decision, backend: TableBackend, seconds: number): void;
  onFallback(d: Decision, backend: TableBackend, reason: string): void;
  /** Seconds the sidecar added before the answer's first byte (total minus upstream wait). */
  onOverhead(seconds: number): void;
  onAnswered(d: Decision, backend: string, status: number): void;
  /** Observes each upstream call (tracing); the headers it gives go on the upstream request. */
  startAttempt?(d: Decision, b: TableBackend): AttemptObserver;
}

export interface Call {
  res: ServerResponse;
  parsed: ParsedRequest;
  decision: Decision;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Aborted when the client goes away. */
  clientGone: Cancel;
}

interface Failure {
  kind: FailureKind;
  backend: TableBackend;
  /** The upstream's own answer, passed through if no other backend answers. */
  answer?: { status: number; headers: Record<string, string>; body: Buffer };
  error?: Error;
  /** The answer had already reached the client when it failed (mid-stream): counted, never retried. */
  committed?: boolean;
}

const MAX_ERROR_BODY = 64 * 1024;
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

export async function forward(deps: ForwarderDeps, call: Call): Promise<void> {
  const { decision: d, res } = call;
  const on = d.attempts[0]!.fallbacks.on;
  const tries = Math.max(1, d.table.retry.attempts);
  let last: Failure | undefined;
  let skipped = 0;
  for (const [i, b] of d.attempts.entries()) {
    const key = `${d.table.route.namespace}/${d.table.route.name}/${b.name}`;
    const auth = deps.credentials.get(d.table, b);
    if (auth && 'error' in auth) {
      last = {
        kind: 'connect-error',
        backend: b,
        error: new SidecarError(502, 'credential_unavailable', `backend ${b.name}: ${auth.error}`),
      };
      deps.onFallback(d, b, 'credential');
      continue;
    }
    // Effort is the chosen tier's; a fallback gets it only if it reasons.
    const body = upstreamBody(call.parsed, b, i === 0 || b.capabilities.reasoning ? d.reasoningEffort : undefined);
    for (let t = 0; t < tries; t++) {
      if (!deps.breakers.tryPass(key)) {
        skipped++;
        deps.onFallback(d, b, 'circuit-open');
        break;
      }
      if (t > 0 && !(await sleepUnless(d.table.retry.backoffMs, call.clientGone))) return deps.breakers.release(key);
      const failure = await attempt(deps, call, b, body, auth ? { [auth.header]: auth.value } : {});
      if (!failure) {
        deps.breakers.success(key);
        return;
      }
      if (call.clientGone.aborted) return deps.breakers.release(key);
      const retryAfter = failure.kind === '429' ? parseRetryAfter(failure.answer?.headers['retry-after']) : undefined;
      deps.breakers.failure(key, retryAfter);
      if (failure.committed) return;
      last = failure;
      if (!on.includes(failure.kind)) return deliverFailure(deps, call, failure);
      deps.onFallback(d, b, failure.kind);
      if (retryAfter !== undefined) break;
    }
  }
  if (last) return deliverFailure(deps, call, last);
  const wait = Math.max(
    ...d.attempts.map((b) => deps.breakers.retryInMs(`${d.table.route.namespace}/${d.table.route.name}/${b.name}`)),
  );
  deps.onAnswered(d, '-', 503);
  sendError(
    res,
    new SidecarError(
      503,
      'circuit_open',
      `every backend of route ${d.table.route.name} is failing (${skipped} skipped by open circuits)`,
      'api_error',
      {
        'retry-after': String(Math.max(1, Math.ceil(wait / 1000))),
      },
    ),
  );
}

/** One try against one backend; undefined when an answer (of any kind) reached the client. */
async function attempt(
  deps: ForwarderDeps,
  call: Call,
  b: TableBackend,
  body: string,
  auth: Record<string, string>,
): Promise<Failure | undefined> {
  const { parsed, decision: d } = call;
  const target = targetOf(b, parsed.endpoint);
  const ac = new Cancel();
  const onGone = () => ac.abort(call.clientGone.reason);
  call.clientGone.once('abort', onGone);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new Error(`total timeout of ${b.timeouts.totalMs} ms`));
  }, b.timeouts.totalMs);
  const obs = deps.startAttempt?.(d, b);
  const failed = (f: Failure): Failure => {
    obs?.end({ kind: f.kind, ...(f.answer && { status: f.answer.status }), ...(f.error && { error: f.error }) });
    return f;
  };
  const sentAt = performance.now();
  let bodyDoneAt = sentAt;
  try {
    let r: Dispatcher.ResponseData;
    try {
      r = await deps.pools.get(target.origin, b.timeouts.connectMs).request({
        path: target.path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: parsed.stream ? 'text/event-stream' : 'application/json',
          ...obs?.headers,
          ...auth,
        },
        body,
        signal: ac,
        headersTimeout: b.timeouts.firstByteMs,
        bodyTimeout: b.timeouts.idleMs,
      });
    } catch (err) {
      return failed({ kind: timedOut ? 'timeout' : classify(err), backend: b, error: err as Error });
    }
    const upstreamWait = performance.now() - sentAt;
    deps.onUpstreamLatency(d, b, upstreamWait / 1000);
    const status = r.statusCode;
    obs?.responded(status);
    if (status === 429 || status >= 500) {
      const answer = {
        status,
        headers: pick(r.headers),
        body: await readCapped(r.body, MAX_ERROR_BODY).catch(() => Buffer.alloc(0)),
      };
      return failed({ kind: status === 429 ? '429' : '5xx', backend: b, answer });
    }
    const type = header(r.headers, 'content-type') ?? '';
    if (status < 300 && type.includes('text/event-stream')) {
      const broke = await stream(deps, call, b, r, sentAt, obs);
      return broke ? { kind: broke, backend: b, committed: true } : undefined;
    }
    let buf: Buffer;
    try {
      buf = Buffer.from(await r.body.arrayBuffer());
      bodyDoneAt = performance.now();
    } catch (err) {
      return failed({ kind: timedOut ? 'timeout' : classify(err), backend: b, error: err as Error });
    }
    let json: unknown;
    if (status < 300) {
      try {
        json = JSON.parse(buf.toString('utf8'));
      } catch {
        return failed({
          kind: '5xx',
          backend: b,
          error: new SidecarError(
            502,
            'upstream_invalid_json',
            `backend ${b.name} answered ${status} with a body that is not JSON`,
          ),
        });
      }
      const e = (json as { error?: { message?: unknown } } | null)?.error;
      if (e && typeof e === 'object') {
        const message = typeof e.message === 'string' ? e.message : 'unknown error';
        return failed({
          kind: '5xx',
          backend: b,
          error: new SidecarError(
            502,
            'upstream_error_body',
            `backend ${b.name} answered ${status} with an error: ${message}`,
          ),
        });
      }
    }
    deps.onOverhead((sentAt - call.startedAt + performance.now() - bodyDoneAt) / 1000);
    call.res.writeHead(status, {
      'content-type': type || 'application/json',
      'content-length': buf.length,
      ...explainHeaders(d, b),
    });
    call.res.end(buf);
    if (json !== undefined) obs?.body(json);
    obs?.firstChunk();
    obs?.end();
    deps.onAnswered(d, b.name, status);
    if (status < 300)
      void settleUsage(deps, call, b, usageFrom((json as { usage?: unknown } | undefined)?.usage), () =>
        outputTextOf(parsed.endpoint, json),
      );
    return undefined;
  } finally {
    clearTimeout(timer);
    call.clientGone.off('abort', onGone);
  }
}

function deliverFailure(deps: ForwarderDeps, call: Call, f: Failure): void {
  const d = call.decision;
  if (f.answer) {
    call.res.writeHead(f.answer.status, {
      'content-type': 'application/json',
      ...f.answer.headers,
      'content-length': f.answer.body.length,
      ...explainHeaders(d, f.backend),
    });
    call.res.end(f.answer.body);
    deps.onAnswered(d, f.backend.name, f.answer.status);
    return;
  }
  const err =
    f.error instanceof SidecarError
      ? f.error
      : f.kind === 'timeout'
        ? new SidecarError(504, 'upstream_timeout', `backend ${f.backend.name} timed out: ${f.error?.message ?? ''}`)
        : new SidecarError(
            502,
            'upstream_unreachable',
            `backend ${f.backend.name} unreachable: ${f.error?.message ?? ''}`,
          );
  deps.onAnswered(d, f.backend.name, err.status);
  sendError(call.res, err, explainHeaders(d, f.backend));
}

function classify(err: unknown): FailureKind {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (CONNECT_ERRORS.has(code)) return 'connect-error';
  // Anything else that stops a request before an answer (socket errors without a known code) is treated
  // as not reaching the backend: the request may be tried elsewhere.
  return 'connect-error';
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function pick(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['content-type', 'retry-after', 'x-request-id']) {
    const v = header(h, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const c = chunk as Buffer;
    if (size + c.length > cap) {
      parts.push(c.subarray(0, cap - size));
      body.destroy();
      break;
    }
    parts.push(c);
    size += c.length;
  }
  return Buffer.concat(parts);
}
