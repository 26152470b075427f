import { ErrorCode, type HttpErrorBody, httpStatusOf, isErrorCode } from '@albatross/protocol';

/**
 * The one error class of the gateway: a protocol error code, a human message
 * and the underlying cause. Every boundary (WebSocket frame handler, HTTP
 * route, CLI) turns whatever it caught into one of these with
 * {@link toAlbatrossError} and reports `code`, never a stack.
 *
 * @example
 * throw new AlbatrossError('FORBIDDEN', 'not a member of tenant t2');
 */
export class AlbatrossError extends Error {
  override readonly name = 'AlbatrossError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return httpStatusOf[this.code];
  }

  /** The JSON body of an HTTP error answer. */
  toBody(): HttpErrorBody {
    return { code: this.code, message: this.message };
  }
}

/**
 * A `RATE_LIMITED` refusal that says when to come back: HTTP answers carry it
 * as `Retry-After` (whole seconds, rounded up).
 */
export class RateLimitedError extends AlbatrossError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number) {
    super(ErrorCode.RATE_LIMITED, message);
    this.retryAfterMs = Math.max(0, Math.ceil(retryAfterMs));
  }

  /** `Retry-After` header value: whole seconds, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

/**
 * Normalises anything thrown into an {@link AlbatrossError}. Unknown errors
 * become `INTERNAL` with a generic message (the original stays as `cause`
 * for logs) so internals never leak to clients.
 */
export function toAlbatrossError(error: unknown): AlbatrossError {
  if (error instanceof AlbatrossError) return error;
  if (error instanceof Error && isErrorCode((error as { code?: unknown }).code)) {
    return new AlbatrossError((error as unknown as { code: ErrorCode }).code, error.message, { cause: error });
  }
  return new AlbatrossError(ErrorCode.INTERNAL, 'internal error', { cause: error });
}
