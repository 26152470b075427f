import { type ErrorCode, isErrorCode } from '@albatross/protocol';

/**
 * What the console tells people for each shared error code. The server's own
 * message is kept in `ApiError.serverMessage` (and shown as detail) because
 * it can be more specific; this text is what a person can act on.
 */
export const ERROR_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  UNAUTHORIZED: 'Your session has ended or the credentials are wrong. Sign in again.',
  TOKEN_EXPIRED: 'Your session has expired. Sign in again.',
  FORBIDDEN: 'You are not allowed to do this.',
  INVALID_MESSAGE: 'Some of the values are not valid.',
  UNKNOWN_TYPE: 'The server did not understand the request.',
  MESSAGE_TOO_LARGE: 'The request is too large.',
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  SUBSCRIPTION_LIMIT: 'Too many live views are open.',
  CONNECTION_LIMIT: 'Too many connections are open.',
  SLOW_CONSUMER: 'The connection could not keep up; it will reconnect.',
  NOT_FOUND: 'This item does not exist, or you cannot see it.',
  UNAVAILABLE: 'The platform is unavailable right now. Try again shortly.',
  INTERNAL: 'Something went wrong on the server.',
  CONCURRENCY_CONFLICT: 'Someone else changed this item in the meantime.',
  ALREADY_EXISTS: 'This already exists.',
  INVALID_STATE: 'This is no longer possible in the item’s current state.',
  PASSWORD_CHANGE_REQUIRED: 'You must change your password first.',
};

/** A failed API call, normalised: one shared `code`, a message for people, the HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly serverMessage?: string,
    readonly details?: Record<string, unknown>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

function statusCode(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONCURRENCY_CONFLICT';
  if (status === 413) return 'MESSAGE_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 503) return 'UNAVAILABLE';
  if (status >= 400 && status < 500) return 'INVALID_MESSAGE';
  return 'INTERNAL';
}

/**
 * The one error normaliser: turns an HTTP error answer (a `{code, message,
 * details?}` body, or anything else a proxy may send) into an {@link ApiError}.
 */
export function errorFromResponse(status: number, body: unknown, retryAfter?: string | null): ApiError {
  const obj = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = isErrorCode(obj.code) ? obj.code : statusCode(status);
  const serverMessage = typeof obj.message === 'string' ? obj.message : undefined;
  const details =
    typeof obj.details === 'object' && obj.details !== null ? (obj.details as Record<string, unknown>) : undefined;
  const seconds = retryAfter ? Number.parseInt(retryAfter, 10) : Number.NaN;
  let message = ERROR_MESSAGES[code];
  if (code === 'RATE_LIMITED' && Number.isFinite(seconds)) message = `Too many attempts. Try again in ${seconds} s.`;
  return new ApiError(code, message, status, serverMessage, details, Number.isFinite(seconds) ? seconds : undefined);
}

/** Any thrown value as an {@link ApiError} (a network failure becomes UNAVAILABLE). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TypeError)
    return new ApiError('UNAVAILABLE', 'Cannot reach the platform. Check your connection.', 0);
  return new ApiError('INTERNAL', ERROR_MESSAGES.INTERNAL, 0, error instanceof Error ? error.message : undefined);
}

/** Field-level messages from an `INVALID_MESSAGE` answer's details, when the server gives them. */
export function fieldErrors(error: ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  const issues = error.details?.issues;
  if (!Array.isArray(issues)) return out;
  for (const issue of issues) {
    if (typeof issue !== 'object' || issue === null) continue;
    const { path, message } = issue as { path?: unknown; message?: unknown };
    const key = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : undefined;
    if (key && typeof message === 'string') out[key] = message;
  }
  return out;
}
