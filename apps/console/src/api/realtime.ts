import { type AlbatrossClient, createClient, UnauthorizedError } from '@albatross/client';
import { ApiError } from './errors.js';
import type { HttpClient } from './http.js';

/** The gateway's WebSocket URL on the page's own origin. */
export function realtimeUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/**
 * The realtime client of a session. `getToken` hands out the session's access
 * token, refreshed over HTTP when it is near expiry; the client calls it
 * before each connection and again before `exp` to refresh in-band, so the
 * socket and its subscriptions survive token rotation. A refused refresh ends
 * the connection for good (`UnauthorizedError`) instead of retrying forever.
 */
export function createRealtime(http: HttpClient, url: string): AlbatrossClient {
  return createClient({ url, warn: false, getToken: sessionTokenSource(http) });
}

/**
 * The realtime client's `getToken` for a session: a token with at least two
 * minutes left (the client refreshes in-band a minute before `exp`, so the
 * HTTP refresh happens then), and `UnauthorizedError` once the session is
 * refused, so the client stops instead of retrying a dead session.
 */
export function sessionTokenSource(http: HttpClient): () => Promise<string> {
  return async () => {
    try {
      return await http.accessToken(120_000);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403))
        throw new UnauthorizedError(error.message);
      throw error;
    }
  };
}
