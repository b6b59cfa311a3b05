/**
 * Every error the sidecar answers itself, in OpenAI's shape `{"error": {"message", "type", "code"}}`, so the
 * official SDKs raise their usual typed errors. Callers branch on `code`, never on the message.
 */
import type { ServerResponse } from 'node:http';

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
