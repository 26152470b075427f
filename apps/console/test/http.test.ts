import { describe, expect, it } from 'vitest';
import { HttpClient } from '../src/api/http.js';
import { SessionStore, type TokenStorage } from '../src/api/session.js';

class MemoryStorage implements TokenStorage {
  readonly map = new Map<string, string>();
  getItem(key: string) {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.map.set(key, value);
  }
  removeItem(key: string) {
    this.map.delete(key);
  }
}

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A fetch that records calls and answers from `answer`. */
function recorder(answer: (call: Call, n: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    return answer(call, calls.length);
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const NOW = 1_800_000_000_000;
const tokenAnswer = (n: number) => ({
  access_token: `access-${n}`,
  token_type: 'Bearer',
  expires_in: 900,
  refresh_token: `refresh-${n}`,
  must_change_password: false,
});

function signedIn(expiresInMs = 900_000) {
  const storage = new MemoryStorage();
  const session = new SessionStore(storage);
  session.set({
    accessToken: 'access-0',
    refreshToken: 'refresh-0',
    expiresAt: NOW + expiresInMs,
    mustChangePassword: false,
  });
  return { storage, session };
}

describe('HttpClient', () => {
  it('sends the bearer token, If-Match with the version, and the query without empty values', async () => {
    const { session } = signedIn();
    const { calls, fetchImpl } = recorder(() => json(200, { ok: true }));
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await http.request('/api/users/u1', { method: 'PATCH', body: { roles: ['Pilot'] }, version: 7 });
    await http.request('/api/users', { query: { role: '', q: 'ann', tenant_id: undefined, limit: 200 } });
    expect(calls[0]?.headers.authorization).toBe('Bearer access-0');
    expect(calls[0]?.headers['if-match']).toBe('"7"');
    expect(calls[0]?.body).toEqual({ roles: ['Pilot'] });
    expect(calls[1]?.url).toBe('/api/users?q=ann&limit=200');
  });

  it('refreshes before a call when the access token is about to expire, and stores the rotated tokens', async () => {
    const { session, storage } = signedIn(30_000);
    const { calls, fetchImpl } = recorder((call) =>
      call.url === '/api/auth/refresh' ? json(200, tokenAnswer(1)) : json(200, {}),
    );
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await http.request('/api/me');
    expect(calls.map((c) => c.url)).toEqual(['/api/auth/refresh', '/api/me']);
    expect(calls[0]?.body).toEqual({ refresh_token: 'refresh-0' });
    expect(calls[0]?.headers.authorization).toBeUndefined();
    expect(calls[1]?.headers.authorization).toBe('Bearer access-1');
    expect(session.get()?.refreshToken).toBe('refresh-1');
    expect(storage.map.size).toBe(1);
  });

  it('runs ONE refresh for concurrent callers (a second would reuse a rotated token and revoke the family)', async () => {
    const { session } = signedIn(1_000);
    let refreshes = 0;
    const { fetchImpl } = recorder(async (call) => {
      if (call.url !== '/api/auth/refresh') return json(200, {});
      refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return json(200, tokenAnswer(refreshes));
    });
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await Promise.all([http.request('/api/me'), http.request('/api/tenants'), http.accessToken()]);
    expect(refreshes).toBe(1);
  });

  it('retries once with a refreshed token after a 401, and ends the session when the refresh is refused', async () => {
    const { session } = signedIn();
    const { calls, fetchImpl } = recorder((call) => {
      if (call.url === '/api/auth/refresh') return json(401, { code: 'UNAUTHORIZED', message: 'token family revoked' });
      return json(401, { code: 'TOKEN_EXPIRED', message: 'expired' });
    });
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await expect(http.request('/api/me')).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(calls.map((c) => c.url)).toEqual(['/api/me', '/api/auth/refresh']);
    expect(session.get()).toBeNull();
  });

  it('keeps the session when the refresh fails for a network reason', async () => {
    const { session } = signedIn(1_000);
    const fetchImpl = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await expect(http.request('/api/me')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(session.get()?.refreshToken).toBe('refresh-0');
  });

  it('flags the session when the API answers PASSWORD_CHANGE_REQUIRED', async () => {
    const { session } = signedIn();
    const { fetchImpl } = recorder(() => json(403, { code: 'PASSWORD_CHANGE_REQUIRED', message: 'change it' }));
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await expect(http.request('/api/tenants')).rejects.toMatchObject({ code: 'PASSWORD_CHANGE_REQUIRED' });
    expect(session.get()?.mustChangePassword).toBe(true);
  });

  it('answers undefined for 204', async () => {
    const { session } = signedIn();
    const { fetchImpl } = recorder(() => new Response(null, { status: 204 }));
    const http = new HttpClient(session, '', fetchImpl, () => NOW);
    await expect(http.request('/api/users/u1/apikeys/k1', { method: 'DELETE' })).resolves.toBeUndefined();
  });
});

describe('SessionStore', () => {
  it('ignores a corrupt stored session instead of crashing', () => {
    const storage = new MemoryStorage();
    storage.setItem('albatross.console.session', '{not json');
    expect(new SessionStore(storage).get()).toBeNull();
    storage.setItem('albatross.console.session', JSON.stringify({ accessToken: 1 }));
    expect(new SessionStore(storage).get()).toBeNull();
  });
});
