import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { Hs256FastPath } from '../../src/auth/hs256.js';
import { JWT_LEEWAY_SECONDS } from '../../src/auth/jwt.js';

const SECRET = randomBytes(32).toString('hex');
const KEY = createSecretKey(Buffer.from(SECRET, 'utf8'));
const NOW = 1_900_000_000;
const LEEWAY = JWT_LEEWAY_SECONDS;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Signs any header and payload with HMAC-SHA256 over the secret, whatever `alg` claims. */
function sign(header: unknown, payload: unknown, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'u1', tenant_id: 't1', exp: NOW + 600, ...extra });
const fast = (expected: { issuer?: string; audience?: string } = {}) =>
  new Hs256FastPath(KEY, LEEWAY, expected, () => NOW);

/** jose's verdict on the same token, at the same clock. */
async function joseAccepts(token: string, expected: { issuer?: string; audience?: string } = {}): Promise<boolean> {
  try {
    await jwtVerify(token, KEY, {
      algorithms: ['HS256'],
      clockTolerance: LEEWAY,
      currentDate: new Date(NOW * 1000),
      ...expected,
    });
    return true;
  } catch {
    return false;
  }
}

describe('Hs256FastPath', () => {
  it('accepts a plainly valid HS256 token and returns its claims', () => {
    const token = sign({ alg: 'HS256', typ: 'JWT' }, claims({ roles: ['admin'] }));
    expect(fast().verify(token)).toEqual(claims({ roles: ['admin'] }));
    expect(fast().verify(sign({ alg: 'HS256', kid: 'k1' }, claims()))).toEqual(claims());
  });

  // Each of these must be left to jose (undefined), whatever jose then says.
  const refused: Array<[string, string, { issuer?: string; audience?: string }?]> = [
    ['alg none, unsigned', `${b64({ alg: 'none' })}.${b64(claims())}.`],
    ['alg none, signed', sign({ alg: 'none' }, claims())],
    ['HS384 header over an HS256 MAC', sign({ alg: 'HS384' }, claims())],
    ['RS256 header over an HMAC of the secret (alg confusion)', sign({ alg: 'RS256' }, claims())],
    ['crit', sign({ alg: 'HS256', crit: ['exp'] }, claims())],
    ['b64 false', sign({ alg: 'HS256', b64: false, crit: ['b64'] }, claims())],
    ['an unknown header member', sign({ alg: 'HS256', jku: 'https://attacker.example/jwks' }, claims())],
    ['a header that is not an object', sign(['HS256'], claims())],
    ['the wrong secret', sign({ alg: 'HS256' }, claims(), randomBytes(32).toString('hex'))],
    [
      'a tampered payload',
      (() => {
        const [h, , s] = sign({ alg: 'HS256' }, claims()).split('.');
        return `${h}.${b64(claims({ sub: 'admin' }))}.${s}`;
      })(),
    ],
    ['a payload that is an array', sign({ alg: 'HS256' }, [claims()])],
    ['no exp', sign({ alg: 'HS256' }, { sub: 'u1', tenant_id: 't1' })],
    ['exp as a string', sign({ alg: 'HS256' }, claims({ exp: String(NOW + 600) }))],
    ['exp exactly at the leeway edge', sign({ alg: 'HS256' }, claims({ exp: NOW - LEEWAY }))],
    ['exp past the leeway', sign({ alg: 'HS256' }, claims({ exp: NOW - LEEWAY - 1 }))],
    ['nbf past the leeway', sign({ alg: 'HS256' }, claims({ nbf: NOW + LEEWAY + 1 }))],
    ['nbf that is not a number', sign({ alg: 'HS256' }, claims({ nbf: 'soon' }))],
    ['iat that is not a number', sign({ alg: 'HS256' }, claims({ iat: 'now' }))],
    ['the wrong issuer', sign({ alg: 'HS256' }, claims({ iss: 'other' })), { issuer: 'albatross' }],
    ['a missing audience', sign({ alg: 'HS256' }, claims()), { audience: 'app' }],
    ['the wrong audience', sign({ alg: 'HS256' }, claims({ aud: ['x', 'y'] })), { audience: 'app' }],
    ['four segments', `${sign({ alg: 'HS256' }, claims())}.x`],
    ['padding in the signature', `${sign({ alg: 'HS256' }, claims())}=`],
    ['garbage', 'not.a.jwt'],
    ['empty', ''],
  ];

  it.each(refused)('leaves %s to jose', async (_name, token, expected = {}) => {
    expect(fast(expected).verify(token)).toBeUndefined();
  });

  it('accepts within the leeway, as jose does', () => {
    expect(fast().verify(sign({ alg: 'HS256' }, claims({ exp: NOW - LEEWAY + 1 })))).toBeDefined();
    expect(fast().verify(sign({ alg: 'HS256' }, claims({ nbf: NOW + LEEWAY })))).toBeDefined();
    expect(
      fast({ issuer: 'albatross', audience: 'app' }).verify(
        sign({ alg: 'HS256' }, claims({ iss: 'albatross', aud: ['x', 'app'] })),
      ),
    ).toBeDefined();
  });

  it('never accepts a token that jose refuses (differential over the cases above and valid ones)', async () => {
    const valid: Array<[string, string, { issuer?: string; audience?: string }?]> = [
      ['valid', sign({ alg: 'HS256', typ: 'JWT' }, claims())],
      ['valid, leeway', sign({ alg: 'HS256' }, claims({ exp: NOW - LEEWAY + 1, nbf: NOW + LEEWAY }))],
      ['valid, iss/aud', sign({ alg: 'HS256' }, claims({ iss: 'i', aud: 'a' })), { issuer: 'i', audience: 'a' }],
    ];
    let accepted = 0;
    for (const [name, token, expected = {}] of [...refused, ...valid]) {
      const mine = fast(expected).verify(token) !== undefined;
      if (mine) {
        accepted += 1;
        expect({ name, jose: await joseAccepts(token, expected) }).toEqual({ name, jose: true });
      }
    }
    expect(accepted).toBe(valid.length);
  });
});
