import { UnauthorizedError } from '@albatross/client';
import { describe, expect, it } from 'vitest';
import { HttpClient } from '../src/api/http.js';
import { realtimeUrl, sessionTokenSource } from '../src/api/realtime.js';
import { SessionStore } from '../src/api/session.js';

describe('sessionTokenSource', () => {
  it('hands the socket a token with at least two minutes left, refreshing over HTTP when needed', async () => {
    const session = new SessionStore(null);
    const now = Date.now();
    session.set({ accessToken: 'old', refreshToken: 'r0', expiresAt: now + 90_000, mustChangePassword: false });
    let refreshes = 0;
    const fetchImpl = (async () => {
      refreshes += 1;
      return new Response(
        JSON.stringify({
          access_token: 'fresh',
          token_type: 'Bearer',
          expires_in: 900,
          refresh_token: 'r1',
          must_change_password: false,
        }),
        { status: 200 },
      );
    }) as typeof fetch;
    const getToken = sessionTokenSource(new HttpClient(session, '', fetchImpl));
    expect(await getToken()).toBe('fresh');
    expect(await getToken()).toBe('fresh');
    expect(refreshes).toBe(1);
  });

  it('stops the client for good (UnauthorizedError) when the session is refused, instead of retrying', async () => {
    const session = new SessionStore(null);
    session.set({ accessToken: 'old', refreshToken: 'r0', expiresAt: Date.now() + 1_000, mustChangePassword: false });
    const fetchImpl = (async () =>
      new Response(JSON.stringify({ code: 'UNAUTHORIZED', message: 'revoked' }), { status: 401 })) as typeof fetch;
    const getToken = sessionTokenSource(new HttpClient(session, '', fetchImpl));
    await expect(getToken()).rejects.toBeInstanceOf(UnauthorizedError);
    expect(session.get()).toBeNull();
  });

  it('builds the WebSocket URL on the page origin', () => {
    expect(realtimeUrl({ protocol: 'https:', host: 'ops.example.com' })).toBe('wss://ops.example.com/ws');
    expect(realtimeUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/ws');
  });
});
