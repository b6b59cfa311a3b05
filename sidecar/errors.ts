/**
 * Every error the sidecar answers itself, in OpenAI's shape `{"error": {"message", "type", "code"}}`, so the
 * official SDKs raise their usual typed errors. Callers branch on `code`, never on the message.
 */
import { maxHeaderSize, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type ErrorType = 'invalid_request_error' | 'not_found_error' | 'rate_limit_error' | 'api_error' | 'server_error';

export class SidecarError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: ErrorType = typeForStatus(status),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function typeForStatus(status: number): ErrorType {
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status < 500) return 'invalid_request_error';
  return status === 500 ? 'server_error' : 'api_error';
}

export function errorJSON(type: ErrorType, code: string, message: string): string {
  return JSON.stringify({ error: { message, type, code } });
}

/** Writes the error if nothing was sent yet; otherwise the connection is cut (a half-sent body cannot be fixed). */
export function sendError(res: ServerResponse, err: SidecarError, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorJSON(err.type, err.code, err.message);
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...err.headers,
    ...extra,
  });
  res.end(body);
}

/**
 * Answers what Node's HTTP parser refused before any handler ran (malformed request, headers too large, header
 * timeout) in OpenAI's shape, then closes the connection. Node's default answer has no body at all.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', `request headers exceed ${maxHeaderSize} bytes`]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time']
        : [400, 'Bad Request', 'malformed_request', `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`];
  const body = errorJSON('invalid_request_error', code, message);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
