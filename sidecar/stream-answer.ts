/**
 * Delivers a committed SSE answer: headers first, then the upstream events as they come, with the client's
 * backpressure carried back to the upstream socket. From here on nothing is retried; an upstream failure ends
 * the stream with an in-band error event, and the failure is reported back so it counts against the backend's
 * circuit. Usage is read from the stream as it passes.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { FailureKind, TableBackend } from '../core/api/types.js';
import { errorJSON } from './errors.js';
import { explainHeaders } from './explain-headers.js';
import type { Call, ForwarderDeps } from './forwarder.js';
import type { AttemptObserver } from './observer.js';
import { SseUsageTap } from './sse-usage-tap.js';
import { settleUsage } from './settle-usage.js';

export async function stream(
  deps: ForwarderDeps,
  call: Call,
  b: TableBackend,
  r: Dispatcher.ResponseData,
  sentAt: number,
  obs: AttemptObserver | undefined,
): Promise<FailureKind | undefined> {
  const { res, parsed, decision: d } = call;
  const tap = new SseUsageTap(parsed.endpoint, !parsed.clientWantsStreamUsage);
  res.writeHead(r.statusCode, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...explainHeaders(d, b),
  });
  obs?.firstChunk();
  deps.onOverhead((sentAt - call.startedAt) / 1000);
  deps.onAnswered(d, b.name, r.statusCode);
  let failed: FailureKind | undefined;
  try {
    await relay(r.body, tap, res);
    if (tap.tornTail) {
      // The torn event is already out; close it and say the answer was cut, rather than end as if complete.
      const message = `backend ${b.name} ended the stream in the middle of an event`;
      res.end(`\n\ndata: ${errorJSON('api_error', 'upstream_stream_truncated', message)}\n\n`);
      obs?.end({ kind: 'upstream_stream_error', error: new Error(message) });
      failed = '5xx';
    } else {
      res.end();
      obs?.end();
    }
  } catch (err) {
    r.body.destroy();
    obs?.end({ kind: call.clientGone.aborted ? 'client_closed' : 'upstream_stream_error', error: err as Error });
    if (!call.clientGone.aborted && !res.destroyed) {
      // Committed: no fallback now. Tell the client in-band; the SDKs raise it as an APIError.
      const message = `backend ${b.name} stream failed: ${(err as Error).message}`;
      res.end(`data: ${errorJSON('api_error', 'upstream_stream_error', message)}\n\n`);
    }
    // A client that left says nothing about the backend; a stall or a reset does.
    if (!call.clientGone.aborted) failed = isTimeout(err) ? 'timeout' : 'connect-error';
  }
  await settleUsage(deps, call, b, tap.usage, () => tap.outputText());
  return failed;
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
}

/**
 * upstream -> tap -> client, carrying the client's backpressure back to the upstream socket (the body pauses
 * while the response's buffer is full). Unlike pipeline() it leaves the response open on an upstream failure
 * (for the in-band error) and allocates no AbortController per stream. A client that leaves aborts the
 * upstream call, which fails the body and so the relay. Resolves once every byte was handed to the response.
 *
 * The headers leave with the first event, in one write, when the upstream sent that event along with its
 * headers (the common case: it is already buffered in the body). An upstream slow to its first event still
 * gets its headers to the client at once, on the next turn of the event loop.
 */
function relay(body: Dispatcher.ResponseData['body'], tap: SseUsageTap, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let wrote = false;
    setImmediate(() => {
      if (!wrote && !res.destroyed) res.flushHeaders();
    });
    const resume = () => body.resume();
    const done = () => res.off('drain', resume);
    res.on('drain', resume);
    body.on('data', (chunk: Buffer) => {
      const out = tap.take(chunk);
      if (out === undefined) return;
      wrote = true;
      if (!res.write(out)) body.pause();
    });
    body.once('end', () => {
      done();
      const rest = tap.finish();
      if (rest !== '') res.write(rest);
      resolve();
    });
    body.once('error', (err) => {
      done();
      reject(err);
    });
  });
}
