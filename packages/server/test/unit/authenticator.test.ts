import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ApiKeyVerifier } from '../../src/auth/api-keys.js';
import { Authenticator, credentialOf, isJwt } from '../../src/auth/authenticator.js';
import type { Identity } from '../../src/auth/identity.js';
import { AlbatrossError } from '../../src/errors.js';
import { SECRET, signToken } from '../support/harness.js';

const request = (url: string, authorization?: string): IncomingMessage =>
  ({ url, headers: authorization === undefined ? {} : { authorization } }) as unknown as IncomingMessage;

describe('credentialOf', () => {
  it('reads a Bearer header (case-insensitive scheme)', () => {
    expect(credentialOf(request('/ws', 'Bearer abc.def.ghi'))).toEqual({ kind: 'token', token: 'abc.def.ghi' });
    expect(credentialOf(request('/ws', 'bearer k1'))).toEqual({ kind: 'token', token: 'k1' });
    expect(credentialOf(request('/ws', 'Bearer   k1  '))).toEqual({ kind: 'token', token: 'k1' });
  });

  it('an Authorization header that is not "Bearer <token>" is invalid, never ignored', () => {
    for (const header of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      'Token abc',
      'abc',
      '',
      'Bearer a b',
      'Bearerabc',
    ]) {
      expect(credentialOf(request('/ws?access_token=a.b.c', header)).kind, header).toBe('invalid');
    }
  });

  it('the header wins over the query', () => {
    expect(credentialOf(request('/ws?access_token=query.jwt.x&api_key=qk', 'Bearer header-key'))).toEqual({
      kind: 'token',
      token: 'header-key',
    });
  });

  it('reads ?access_token= and ?api_key= (access_token first), URL-decoded', () => {
    expect(credentialOf(request('/ws?access_token=a.b.c'))).toEqual({ kind: 'token', token: 'a.b.c' });
    expect(credentialOf(request('/api/ws?x=1&api_key=k%2B1'))).toEqual({ kind: 'token', token: 'k+1' });
    expect(credentialOf(request('/ws?api_key=k&access_token=j.w.t'))).toEqual({ kind: 'token', token: 'j.w.t' });
  });

  it('an empty query credential is invalid; none at all is none', () => {
    expect(credentialOf(request('/ws?access_token=')).kind).toBe('invalid');
    expect(credentialOf(request('/ws?api_key=')).kind).toBe('invalid');
    expect(credentialOf(request('/ws'))).toEqual({ kind: 'none' });
    expect(credentialOf(request('/ws?token=abc'))).toEqual({ kind: 'none' });
  });
});

describe('isJwt', () => {
  it('is true for exactly two dots', () => {
    expect(isJwt('a.b.c')).toBe(true);
    expect(isJwt('..')).toBe(true);
    expect(isJwt('eyJ.eyJ.')).toBe(true);
  });
  it('is false otherwise', () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', '.', '...', 'k1-secret']) expect(isJwt(token), token).toBe(false);
  });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AlbatrossError);
    return (error as AlbatrossError).code;
  }
  return 'ok';
}

const keyIdentity: Identity = {
  userId: 'svc-1',
  tenantId: 't1',
  roles: [],
  channels: [],
  credential: { kind: 'api_key', keyId: 'k1' },
};

describe('Authenticator', () => {
  it('routes JWTs to the JWT verifier and everything else to the API key verifier', async () => {
    const seen: string[] = [];
    const apiKeys: ApiKeyVerifier = {
      async verify(key) {
        seen.push(key);
        return key === 'good-key' ? keyIdentity : null;
      },
    };
    const auth = new Authenticator({ jwt: { secret: SECRET }, apiKeys });
    expect((await auth.authenticate(await signToken({ sub: 'u9' }))).userId).toBe('u9');
    expect(seen).toEqual([]);
    expect(await auth.authenticate('good-key')).toEqual(keyIdentity);
    expect(await codeOf(auth.authenticate('bad-key'))).toBe('UNAUTHORIZED');
    expect(seen).toEqual(['good-key', 'bad-key']);
  });

  it('is UNAUTHORIZED for a kind of credential that is not configured', async () => {
    expect(await codeOf(new Authenticator({}).authenticate('a.b.c'))).toBe('UNAUTHORIZED');
    expect(await codeOf(new Authenticator({ jwt: { secret: SECRET } }).authenticate('some-key'))).toBe('UNAUTHORIZED');
    const keysOnly = new Authenticator({ apiKeys: { verify: async () => keyIdentity } });
    expect(await codeOf(keysOnly.authenticate(await signToken()))).toBe('UNAUTHORIZED');
  });

  it('refuses ids containing ":", which would make user:/tenant: channel names ambiguous', async () => {
    // User "u1" may subscribe user:u1:{topic} for any topic, so a user "u1:x" would have its
    // channel user:u1:x:updates readable by "u1" (same for tenants).
    const auth = new Authenticator({
      jwt: { secret: SECRET },
      apiKeys: { verify: async (key) => ({ ...keyIdentity, userId: key }) },
    });
    expect(await codeOf(auth.authenticate(await signToken({ sub: 'u1:x' })))).toBe('UNAUTHORIZED');
    expect(await codeOf(auth.authenticate(await signToken({ tenant_id: 't1:x' })))).toBe('UNAUTHORIZED');
    expect(await codeOf(auth.authenticate('svc:1'))).toBe('UNAUTHORIZED');
    // Other characters cannot collide with a channel name and stay accepted.
    expect((await auth.authenticate(await signToken({ sub: 'auth0|abc@x' }))).userId).toBe('auth0|abc@x');
    expect((await auth.authenticate('svc-1')).userId).toBe('svc-1');
  });

  it('a failing API key verifier is UNAVAILABLE', async () => {
    const auth = new Authenticator({
      apiKeys: {
        async verify() {
          throw new Error('db down');
        },
      },
    });
    expect(await codeOf(auth.authenticate('k'))).toBe('UNAVAILABLE');
  });
});
