import type { ServerOptions } from 'node:http';

/** How long a client may take to send a request on the gateway's HTTP server. */
export interface HttpTimeouts {
  /** Time to receive the complete request head (request line and headers), upgrades included. */
  readonly headersTimeoutMs: number;
  /** Time to receive the whole request, body included; at least `headersTimeoutMs`. */
  readonly requestTimeoutMs: number;
}

/** Defaults of the standalone server (`--headers-timeout-ms`, `--request-timeout-ms`). */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersTimeoutMs: 5_000, requestTimeoutMs: 30_000 };

/**
 * Options for `http.createServer` that bound slow clients: a request (an
 * upgrade request included) whose head is not complete after
 * `headersTimeoutMs`, or whose body is not after `requestTimeoutMs`, is
 * answered 408 and its socket closed. Node checks these deadlines on an
 * interval (30 s by default, which let a half-sent upgrade hold a socket for
 * over a minute); it is shortened here to a quarter of the headers timeout,
 * at most 1 s, so a socket is held at most about 1.25 × the timeout.
 *
 * @example
 * const server = http.createServer(httpServerOptions({ headersTimeoutMs: 5000, requestTimeoutMs: 30000 }));
 */
export function httpServerOptions(timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS): ServerOptions {
  if (timeouts.requestTimeoutMs < timeouts.headersTimeoutMs) {
    throw new RangeError('requestTimeoutMs must be at least headersTimeoutMs');
  }
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(timeouts.headersTimeoutMs / 4))),
  };
}
