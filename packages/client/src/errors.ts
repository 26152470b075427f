import type { ErrorCode } from '@albatross/protocol';

/**
 * Stable codes of {@link AlbatrossClientError}: every protocol {@link ErrorCode}
 * (from `error` frames, rejected subscriptions and close codes) plus the
 * client's own:
 * - `TRANSPORT`: the WebSocket could not be opened or closed abnormally;
 * - `TIMEOUT`: no `welcome` in time, or no frame for 2× `heartbeat_ms`;
 * - `CONFIG`: the client was built with unusable options.
 */
export type ClientErrorCode = ErrorCode | 'TRANSPORT' | 'TIMEOUT' | 'CONFIG';

/**
 * The one error class of `@albatross/client`. Branch on `code`, never on
 * `message`.
 *
 * @example
 * client.on('error', (error) => {
 *   if (error.code === 'FORBIDDEN') showSignedOut();
 * });
 */
export class AlbatrossClientError extends Error {
  override name = 'AlbatrossClientError';

  constructor(
    /** Stable, machine-readable reason. */
    readonly code: ClientErrorCode,
    message: string,
    /**
     * The WebSocket close code or channel this error is about, when there is
     * one, and `hint`: what to check or change, when the client can tell.
     */
    readonly details: { closeCode?: number; channel?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message);
  }
}

/**
 * Throw this from `getToken()` when the user is signed out for good: the client
 * stops reconnecting, goes to state `error` and reports it. Any other error
 * from `getToken()` is treated as transient and retried with backoff.
 *
 * @example
 * const client = createClient({
 *   url: 'wss://rt.example.com/ws',
 *   async getToken() {
 *     const res = await fetch('/api/realtime-token');
 *     if (res.status === 401) throw new UnauthorizedError('signed out');
 *     return (await res.json()).token;
 *   },
 * });
 */
export class UnauthorizedError extends AlbatrossClientError {
  override name = 'UnauthorizedError';

  constructor(message = 'unauthorized') {
    super('UNAUTHORIZED', message);
  }
}
