import { ErrorCode, httpStatusOf, isErrorCode } from './codes.js';
import type { HttpErrorBody } from './http.js';

/**
 * The one error class of Albatross: a code from the shared list, a human
 * message and the underlying cause. Every boundary (WebSocket frame handler,
 * HTTP route, CLI, command handler) turns whatever it caught into one of
 * these with {@link toAlbatrossError} and reports `code`, never a stack.
 *
 * It lives in the protocol package so the gateway and the event store (which
 * does not depend on the gateway) throw the same class.
 *
 * @example
 * throw new AlbatrossError('FORBIDDEN', 'not a member of tenant t2');
 */
export class AlbatrossError extends Error {
  override readonly name = 'AlbatrossError';
  readonly code: ErrorCode;
  /** Optional machine-readable detail (e.g. the expected and actual versions of a conflict). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Readonly<Record<string, unknown>> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
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
