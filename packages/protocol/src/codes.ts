/**
 * Every error code and close code of protocol v1, in one place.
 *
 * Error codes appear in `error` frames, in `rejected` subscribe entries and in
 * HTTP error bodies. They are a public contract: add, never rename.
 */
export const ErrorCode = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  FORBIDDEN: 'FORBIDDEN',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  SUBSCRIPTION_LIMIT: 'SUBSCRIPTION_LIMIT',
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  NOT_FOUND: 'NOT_FOUND',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
  /** A write's expected stream version is stale (optimistic concurrency). */
  CONCURRENCY_CONFLICT: 'CONCURRENCY_CONFLICT',
  /** The entity (or a unique attribute such as an email) exists already. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** The command is not allowed in the entity's current state. */
  INVALID_STATE: 'INVALID_STATE',
  /** The caller must change their password before anything else. */
  PASSWORD_CHANGE_REQUIRED: 'PASSWORD_CHANGE_REQUIRED',
} as const;

/** One of the protocol's error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True when `value` is one of the protocol's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && errorCodes.has(value);
}

/** The HTTP status that goes with each error code in HTTP error bodies. */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  INVALID_MESSAGE: 400,
  UNKNOWN_TYPE: 400,
  MESSAGE_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  SUBSCRIPTION_LIMIT: 429,
  CONNECTION_LIMIT: 429,
  SLOW_CONSUMER: 503,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  CONCURRENCY_CONFLICT: 409,
  ALREADY_EXISTS: 409,
  INVALID_STATE: 409,
  PASSWORD_CHANGE_REQUIRED: 403,
};

/**
 * WebSocket close codes the gateway uses. 1007 is RFC 6455's "invalid frame
 * payload data" (bad UTF-8), the one bad input the RFC makes fatal.
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  INVALID_PAYLOAD: 1007,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  UNAUTHORIZED: 4001,
  FORBIDDEN: 4003,
  POLICY_VIOLATION: 4008,
  SLOW_CONSUMER: 4009,
  CONNECTION_LIMIT: 4029,
} as const;

/** One of the close codes the gateway sends. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
