import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier, JWT_LEEWAY_SECONDS, type JwtOptions } from '../../src/auth/jwt.js';
import { AlbatrossError } from '../../src/errors.js';

const SECRET = 'unit-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaOther = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecP384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

type Claims = Record<string, unknown>;
const baseClaims = (): Claims => ({ sub: 'u1', tenant_id: 't1', roles: ['Member'], iat: now(), exp: now() + 600 });

async function sign(
  claims: Claims,
  alg: string,
  key: KeyObject | Uint8Array,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(key);
}
const hs = (claims: Claims = baseClaims(), secret = SECRET) => sign(claims, 'HS256', new TextEncoder().encode(secret));

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function outcome(options: JwtOptions, token: string): Promise<string> {
  try {
    const identity = await createJwtVerifier(options)(token);
    expect(identity.credential).toEqual({ kind: 'jwt' });
    return `ok:${identity.userId}`;
  } catch (error) {
    expect(error).toBeInstanceOf(AlbatrossError);
    return (error as AlbatrossError).code;
  }
}

describe('createJwtVerifier configuration', () => {
  it('needs at least one key source', () => {
    expect(() => createJwtVerifier({})).toThrow(/no JWT key/);
  });
  it('refuses a short HS256 secret', () => {
    expect(() => createJwtVerifier({ secret: 'short' })).toThrow(/16/);
  });
  it('refuses a public key of an unsupported type', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => createJwtVerifier({ publicKey: pem(ed.publicKey) })).toThrow(/unsupported/);
  });
  it('has a 30 s leeway', () => {
    expect(JWT_LEEWAY_SECONDS).toBe(30);
  });
});

describe('HS256', () => {
  const options = { secret: SECRET };

  it('accepts a valid token and maps its claims', async () => {
    const exp = now() + 600;
    const token = await hs({ ...baseClaims(), exp, channels: ['campaign:7:x'], roles: ['A', 'B'] });
    const identity = await createJwtVerifier(options)(token);
    expect(identity).toEqual({
      userId: 'u1',
      tenantId: 't1',
      roles: ['A', 'B'],
      channels: ['campaign:7:x'],
      exp,
      credential: { kind: 'jwt' },
    });
  });

  it('roles and channels default to empty', async () => {
    const identity = await createJwtVerifier(options)(await hs({ sub: 'u1', tenant_id: 't1', exp: now() + 60 }));
    expect(identity.roles).toEqual([]);
    expect(identity.channels).toEqual([]);
  });

  it('rejects a wrong secret and a tampered payload', async () => {
    expect(await outcome(options, await hs(baseClaims(), 'another-secret-0123456789'))).toBe('UNAUTHORIZED');
    const [h, , s] = (await hs()).split('.');
    const tampered = `${h}.${b64url({ ...baseClaims(), sub: 'admin' })}.${s}`;
    expect(await outcome(options, tampered)).toBe('UNAUTHORIZED');
  });

  it('requires sub, tenant_id and exp', async () => {
    for (const missing of ['sub', 'tenant_id', 'exp']) {
      const claims = baseClaims();
      delete claims[missing];
      const verify = createJwtVerifier(options);
      await expect(verify(await hs(claims))).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringContaining(missing),
      });
    }
    expect(await outcome(options, await hs({ ...baseClaims(), sub: '' }))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await hs({ ...baseClaims(), tenant_id: 5 }))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await hs({ ...baseClaims(), tenant_id: '' }))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await hs({ ...baseClaims(), exp: 'tomorrow' }))).toBe('UNAUTHORIZED');
  });

  it('rejects roles or channels that are not string arrays', async () => {
    expect(await outcome(options, await hs({ ...baseClaims(), roles: 'Admin' }))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await hs({ ...baseClaims(), roles: [1] }))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await hs({ ...baseClaims(), channels: 'a:b' }))).toBe('UNAUTHORIZED');
  });

  it('rejects alg none, with or without a signature', async () => {
    const header = b64url({ alg: 'none', typ: 'JWT' });
    const payload = b64url(baseClaims());
    expect(await outcome(options, `${header}.${payload}.`)).toBe('UNAUTHORIZED');
    expect(await outcome(options, `${header}.${payload}.c2ln`)).toBe('UNAUTHORIZED');
    expect(await outcome({ publicKey: pem(rsa.publicKey) }, `${header}.${payload}.`)).toBe('UNAUTHORIZED');
  });

  it('rejects HS384/HS512 even with the right secret', async () => {
    const key = new TextEncoder().encode(SECRET);
    expect(await outcome(options, await sign(baseClaims(), 'HS384', key))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await sign(baseClaims(), 'HS512', key))).toBe('UNAUTHORIZED');
  });

  it('rejects RS256 and ES256 tokens when only a secret is configured', async () => {
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsa.privateKey))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await sign(baseClaims(), 'ES256', ec.privateKey))).toBe('UNAUTHORIZED');
  });

  it('rejects garbage', async () => {
    for (const token of ['a.b.c', '..', 'eyJ.eyJ.x', `${b64url({ alg: 'HS256' })}.notjson.x`]) {
      expect(await outcome(options, token)).toBe('UNAUTHORIZED');
    }
  });
});

describe('exp and nbf leeway (30 s both sides)', () => {
  const options = { secret: SECRET };

  it('exp a little in the past is still accepted; past the leeway is TOKEN_EXPIRED', async () => {
    expect(await outcome(options, await hs({ ...baseClaims(), exp: now() - 5 }))).toBe('ok:u1');
    expect(await outcome(options, await hs({ ...baseClaims(), exp: now() - (JWT_LEEWAY_SECONDS - 2) }))).toBe('ok:u1');
    expect(await outcome(options, await hs({ ...baseClaims(), exp: now() - (JWT_LEEWAY_SECONDS + 2) }))).toBe(
      'TOKEN_EXPIRED',
    );
    expect(await outcome(options, await hs({ ...baseClaims(), iat: now() - 7200, exp: now() - 3600 }))).toBe(
      'TOKEN_EXPIRED',
    );
  });

  it('nbf a little in the future is accepted; past the leeway is UNAUTHORIZED (not yet valid)', async () => {
    expect(await outcome(options, await hs({ ...baseClaims(), nbf: now() + 5 }))).toBe('ok:u1');
    expect(await outcome(options, await hs({ ...baseClaims(), nbf: now() + (JWT_LEEWAY_SECONDS - 2) }))).toBe('ok:u1');
    expect(await outcome(options, await hs({ ...baseClaims(), nbf: now() + (JWT_LEEWAY_SECONDS + 2) }))).toBe(
      'UNAUTHORIZED',
    );
  });

  it('an expired token signed with the wrong key is UNAUTHORIZED, not TOKEN_EXPIRED', async () => {
    const token = await hs({ ...baseClaims(), exp: now() - 3600 }, 'another-secret-0123456789');
    expect(await outcome(options, token)).toBe('UNAUTHORIZED');
  });
});

describe('issuer and audience', () => {
  it('are enforced when configured', async () => {
    const options = { secret: SECRET, issuer: 'https://issuer.example', audience: 'albatross' };
    expect(await outcome(options, await hs({ ...baseClaims(), iss: 'https://issuer.example', aud: 'albatross' }))).toBe(
      'ok:u1',
    );
    expect(await outcome(options, await hs({ ...baseClaims(), iss: 'https://evil.example', aud: 'albatross' }))).toBe(
      'UNAUTHORIZED',
    );
    expect(await outcome(options, await hs({ ...baseClaims(), iss: 'https://issuer.example', aud: 'other' }))).toBe(
      'UNAUTHORIZED',
    );
    expect(await outcome(options, await hs(baseClaims()))).toBe('UNAUTHORIZED');
  });
});

describe('RS256 and ES256 PEM public keys', () => {
  it('RS256 key accepts RS256 tokens only', async () => {
    const options = { publicKey: pem(rsa.publicKey) };
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsa.privateKey))).toBe('ok:u1');
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsaOther.privateKey))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await sign(baseClaims(), 'PS256', rsa.privateKey))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await sign(baseClaims(), 'RS512', rsa.privateKey))).toBe('UNAUTHORIZED');
    expect(await outcome(options, await sign(baseClaims(), 'ES256', ec.privateKey))).toBe('UNAUTHORIZED');
  });

  it('rejects the HS256-with-public-key confusion attack', async () => {
    const publicPem = pem(rsa.publicKey);
    const forged = await sign(baseClaims(), 'HS256', new TextEncoder().encode(publicPem));
    expect(await outcome({ publicKey: publicPem }, forged)).toBe('UNAUTHORIZED');
  });

  it('ES256 key accepts ES256 tokens only', async () => {
    const options = { publicKey: pem(ec.publicKey) };
    expect(await outcome(options, await sign(baseClaims(), 'ES256', ec.privateKey))).toBe('ok:u1');
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsa.privateKey))).toBe('UNAUTHORIZED');
    expect(
      await outcome({ publicKey: pem(ecP384.publicKey) }, await sign(baseClaims(), 'ES384', ecP384.privateKey)),
    ).toBe('UNAUTHORIZED');
  });

  it('maps an expired RS256 token to TOKEN_EXPIRED, also behind another key source', async () => {
    const token = await sign({ ...baseClaims(), exp: now() - 3600 }, 'RS256', rsa.privateKey);
    expect(await outcome({ publicKey: pem(rsa.publicKey) }, token)).toBe('TOKEN_EXPIRED');
    expect(await outcome({ secret: SECRET, publicKey: pem(rsa.publicKey) }, token)).toBe('TOKEN_EXPIRED');
  });

  it('secret and public key together accept both kinds', async () => {
    const options = { secret: SECRET, publicKey: pem(ec.publicKey) };
    expect(await outcome(options, await hs())).toBe('ok:u1');
    expect(await outcome(options, await sign(baseClaims(), 'ES256', ec.privateKey))).toBe('ok:u1');
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsa.privateKey))).toBe('UNAUTHORIZED');
  });
});

async function jwk(key: KeyObject, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(key)), kid, alg, use: 'sig' };
}

describe('JWKS', () => {
  it('a local JWKS verifies RS256 and ES256 by kid and refuses unknown keys', async () => {
    const jwks = { keys: [await jwk(rsa.publicKey, 'r1', 'RS256'), await jwk(ec.publicKey, 'e1', 'ES256')] };
    const options = { jwks };
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsa.privateKey, { kid: 'r1' }))).toBe('ok:u1');
    expect(await outcome(options, await sign(baseClaims(), 'ES256', ec.privateKey, { kid: 'e1' }))).toBe('ok:u1');
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsaOther.privateKey, { kid: 'r1' }))).toBe(
      'UNAUTHORIZED',
    );
    expect(await outcome(options, await sign(baseClaims(), 'RS256', rsaOther.privateKey, { kid: 'nope' }))).toBe(
      'UNAUTHORIZED',
    );
    expect(await outcome(options, await hs())).toBe('UNAUTHORIZED');
  });

  describe('from a URL', () => {
    let server: http.Server;
    let url: string;
    let fetches = 0;
    beforeAll(async () => {
      const body = JSON.stringify({ keys: [await jwk(rsa.publicKey, 'r1', 'RS256')] });
      server = http.createServer((_req, res) => {
        fetches += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('an unreachable JWKS endpoint is UNAVAILABLE (a server-side outage), not UNAUTHORIZED', async () => {
      // A port nothing listens on: the connection is refused at once.
      const closed = http.createServer();
      closed.listen(0, '127.0.0.1');
      await once(closed, 'listening');
      const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks.json`;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const token = await sign(baseClaims(), 'RS256', rsa.privateKey, { kid: 'r1' });
      await expect(createJwtVerifier({ jwksUrl: deadUrl })(token)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      // With a secret beside it: an HS256 token still verifies without the JWKS, a bad one is still 401.
      const both = createJwtVerifier({ secret: SECRET, jwksUrl: deadUrl });
      expect((await both(await hs())).userId).toBe('u1');
      await expect(both(await hs(baseClaims(), 'another-secret-0123456789'))).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
      await expect(both(token)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });

    it('fetches the keys and verifies', async () => {
      const verify = createJwtVerifier({ jwksUrl: url });
      expect((await verify(await sign(baseClaims(), 'RS256', rsa.privateKey, { kid: 'r1' }))).userId).toBe('u1');
      await expect(verify(await sign(baseClaims(), 'RS256', rsaOther.privateKey, { kid: 'r1' }))).rejects.toMatchObject(
        {
          code: 'UNAUTHORIZED',
        },
      );
      expect(fetches).toBeGreaterThanOrEqual(1);
    });
  });
});
