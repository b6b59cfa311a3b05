/** Errors of the operator. Callers branch on `code`, never on message text. */
export type OperatorErrorCode =
  | 'ERR_OPERATOR_CONFIG'
  | 'ERR_OPERATOR_KUBE'
  | 'ERR_OPERATOR_REDIS'
  | 'ERR_OPERATOR_CONFLICT'
  | 'ERR_OPERATOR_TIMEOUT'
  | 'ERR_OPERATOR_NOT_LEADER';

export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  constructor(
    readonly code: OperatorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The HTTP status of a failed apiserver call (client-node's ApiException carries it as `code`), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatusOf(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatusOf(err) === 409;

/** Rejects with ERR_OPERATOR_TIMEOUT when `p` has not settled within `ms`: a black-holed connection must not hang a loop. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OperatorError('ERR_OPERATOR_TIMEOUT', `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string' && body.length > 0 && body.length < 500) {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') return parsed.message;
      } catch {
        // not JSON: fall through to the error's own message
      }
    }
    if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
      return (body as { message: string }).message;
    }
    return err.message;
  }
  return String(err);
}
