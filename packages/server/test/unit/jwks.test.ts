import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createJwtVerifier, type JwtOptions } from '../../src/auth/jwt.js';

/**
 * JWKS outages (issue 9, D3 and D11) against a real HTTP server on loopback:
 * every failure to fetch or parse the key set is UNAVAILABLE (our outage,
 * retry with the same token), only signature and claim failures are
 * UNAUTHORIZED, and failed fetches are cooled down like successful ones.
 */

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 });
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ sub: 'u1', tenant_id: 't1', iat: now(), exp: now() + 600 });
const sign = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) =>
  new SignJWT({ ...claims(), ...extra }).setProtectedHeader({ alg: 'RS256', kid }).sign(key);

type Mode = 'ok' | '500' | 'html' | 'not-json' | 'no-keys' | 'hang';
let mode: Mode = 'ok';
let fetches = 0;
let server: http.Server;
let url: string;
let jwksBody = '';
const hanging: http.ServerResponse[] = [];

beforeAll(async () => {
  jwksBody = JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS256', use: 'sig' }] });
  server = http.createServer((_req, res) => {
    fetches += 1;
    switch (mode) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody);
        return;
      case '500':
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
        return;
      case 'not-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[');
        return;
      case 'no-keys':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"issuer":"x"}');
        return;
      case 'hang':
        hanging.push(res); // never answered: the fetch must time out
        return;
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  mode = 'ok';
  fetches = 0;
});

async function code(verify: (token: string) => Promise<unknown>, token: string): Promise<string> {
  try {
    await verify(token);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? `raw:${String(error)}`;
  }
}

const options = (extra: Partial<JwtOptions> = {}): JwtOptions => ({ jwksUrl: url, jwksTimeoutMs: 300, ...extra });

describe('JWKS outage on a cold cache is UNAVAILABLE, never UNAUTHORIZED (D3)', () => {
  for (const failing of ['500', 'html', 'not-json', 'no-keys', 'hang'] as const) {
    it(`endpoint answering ${failing}`, async () => {
      mode = failing;
      const verify = createJwtVerifier(options());
      expect(await code(verify, await sign(rsa.privateKey, 'r1'))).toBe('UNAVAILABLE');
      expect(fetches).toBe(1);
    });
  }

  it('network error (nothing listens)', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks.json`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const verify = createJwtVerifier({ jwksUrl: deadUrl });
    expect(await code(verify, await sign(rsa.privateKey, 'r1'))).toBe('UNAVAILABLE');
  });

  it('with a good key set: bad signature and unknown kid are UNAUTHORIZED, expired is TOKEN_EXPIRED', async () => {
    const verify = createJwtVerifier(options());
    expect(await code(verify, await sign(rsa.privateKey, 'r1'))).toBe('ok');
    expect(await code(verify, await sign(rsaOther.privateKey, 'r1'))).toBe('UNAUTHORIZED');
    expect(await code(verify, await sign(rsaOther.privateKey, 'unknown-kid'))).toBe('UNAUTHORIZED');
    expect(await code(verify, await sign(rsa.privateKey, 'r1', { exp: now() - 3600 }))).toBe('TOKEN_EXPIRED');
    expect(await code(verify, await sign(rsa.privateKey, 'r1', { tenant_id: undefined }))).toBe('UNAUTHORIZED');
  });
});

describe('failed JWKS fetches are cooled down too (D11)', () => {
  // Only Date is faked: cooldowns and ages follow the test's clock, a busy machine
  // cannot stretch them; timers, sockets and fetch timeouts stay real.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
  const longLived = { exp: now() + 24 * 3600 };

  it('20 unknown kids during an outage cause one fetch, not 20', async () => {
    mode = '500';
    const verify = createJwtVerifier(options({ jwksCooldownMs: 60_000 }));
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await code(verify, await sign(rsa.privateKey, `kid-${i}`)));
    expect(outcomes).toEqual(Array(20).fill('UNAVAILABLE'));
    expect(fetches).toBe(1);
  });

  it('concurrent verifications on a cold cache share one fetch', async () => {
    mode = '500';
    const verify = createJwtVerifier(options({ jwksCooldownMs: 60_000 }));
    const token = await sign(rsa.privateKey, 'r1');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => code(verify, token)));
    expect(outcomes).toEqual(Array(10).fill('UNAVAILABLE'));
    expect(fetches).toBe(1);
  });

  it('unknown kids with a good key set refetch at most once per cooldown', async () => {
    const verify = createJwtVerifier(options({ jwksCooldownMs: 60_000 }));
    expect(await code(verify, await sign(rsa.privateKey, 'r1'))).toBe('ok');
    for (let i = 0; i < 10; i++)
      expect(await code(verify, await sign(rsa.privateKey, `kid-${i}`))).toBe('UNAUTHORIZED');
    expect(fetches).toBe(1);
  });

  it('after the cooldown the endpoint is tried again, and a recovered endpoint verifies', async () => {
    mode = '500';
    const verify = createJwtVerifier(options({ jwksCooldownMs: 30_000 }));
    const token = await sign(rsa.privateKey, 'r1', longLived);
    expect(await code(verify, token)).toBe('UNAVAILABLE');
    mode = 'ok';
    // Within the cooldown: still the remembered failure, no fetch.
    advance(29_000);
    expect(await code(verify, token)).toBe('UNAVAILABLE');
    expect(fetches).toBe(1);
    advance(1_001);
    expect(await code(verify, token)).toBe('ok');
    expect(fetches).toBe(2);
  });

  it('keeps verifying with the keys it has while a refresh of a stale set fails', async () => {
    const verify = createJwtVerifier(options({ jwksCooldownMs: 30_000, jwksMaxAgeMs: 10 * 60_000 }));
    const token = await sign(rsa.privateKey, 'r1', longLived);
    expect(await code(verify, token)).toBe('ok');
    mode = '500';
    advance(10 * 60_000);
    expect(await code(verify, token)).toBe('ok');
    expect(fetches).toBe(2);
    // A key it never had cannot be checked while the endpoint fails: UNAVAILABLE, not a verdict.
    expect(await code(verify, await sign(rsaOther.privateKey, 'rotated-in', longLived))).toBe('UNAVAILABLE');
    expect(fetches).toBe(2);
    advance(30_000);
    expect(await code(verify, await sign(rsaOther.privateKey, 'rotated-in', longLived))).toBe('UNAVAILABLE');
    expect(fetches).toBe(3);
    // The endpoint is back with the same set: the unknown kid is now a verdict.
    mode = 'ok';
    advance(30_000);
    expect(await code(verify, await sign(rsaOther.privateKey, 'rotated-in', longLived))).toBe('UNAUTHORIZED');
    expect(fetches).toBe(4);
  });
});
