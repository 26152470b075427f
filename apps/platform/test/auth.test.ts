import type { Jwks, TokenResponse, User } from '@albatross/platform-api';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSigningKey } from '../src/auth/keys.js';
import {
  Api,
  createTenant,
  createUserAndLogin,
  startTestPlatform,
  strongPassword,
  type TestPlatform,
} from './helpers.js';

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.close();
});

describe('bootstrap', () => {
  it('goes from the one-time password to a changed password, and the old one stops working', async () => {
    // startTestPlatform logged in with the one-time password and changed it; check each step's effect.
    const boot = t.platform.bootstrap;
    expect(boot?.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const old = await t.anon.post('/api/auth/login', { email: boot?.email, password: boot?.password });
    expect(old.status).toBe(401);
    const fresh = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: boot?.email,
      password: t.adminPassword,
    });
    expect(fresh.status).toBe(200);
    expect(fresh.body.must_change_password).toBe(false);
    const me = await t.anon.as(fresh.body.access_token).get<User>('/api/me');
    expect(me.body).toMatchObject({ email: 'admin@albatross.local', roles: ['PlatformAdmin'], tenant_id: 'platform' });
  });

  it('answers 403 PASSWORD_CHANGE_REQUIRED to everything but /api/me and the password change', async () => {
    const tenant = await createTenant(t.admin);
    const created = await t.admin.post<{ id: string; email: string; initial_password: string }>(
      `/api/tenants/${tenant.id}/users`,
      { email: `forced-${tenant.id}@example.com`, display_name: 'Forced', roles: ['Pilot'] },
    );
    expect(created.status).toBe(201);
    expect(created.body.initial_password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const login = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: created.body.email,
      password: created.body.initial_password,
    });
    expect(login.body.must_change_password).toBe(true);
    const user = t.anon.as(login.body.access_token);
    expect((await user.get(`/api/tenants/${tenant.id}`)).body).toMatchObject({ code: 'PASSWORD_CHANGE_REQUIRED' });
    expect((await user.get(`/api/tenants/${tenant.id}`)).status).toBe(403);
    expect((await user.get<User>('/api/me')).body.must_change_password).toBe(true);
    const short = await user.post('/api/me/password', {
      current_password: created.body.initial_password,
      new_password: 'short',
    });
    expect(short.status).toBe(400);
    const changed = await user.post<TokenResponse>('/api/me/password', {
      current_password: created.body.initial_password,
      new_password: strongPassword(),
    });
    expect(changed.status).toBe(200);
    expect((await user.get(`/api/tenants/${tenant.id}`)).status).toBe(200);
    // The user's earlier refresh token was revoked by the change.
    expect((await t.anon.post('/api/auth/refresh', { refresh_token: login.body.refresh_token })).status).toBe(401);
    expect((await t.anon.post('/api/auth/refresh', { refresh_token: changed.body.refresh_token })).status).toBe(200);
  });
});

describe('login', () => {
  it('answers a wrong password and an unknown email alike', async () => {
    const wrong = await t.anon.post('/api/auth/login', { email: 'admin@albatross.local', password: strongPassword() });
    const unknown = await t.anon.post('/api/auth/login', { email: 'nobody@example.com', password: strongPassword() });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('refuses unknown fields and bad emails', async () => {
    const extra = await t.anon.post('/api/auth/login', { email: 'a@example.com', password: 'x', remember: true });
    expect(extra.status).toBe(400);
    expect(extra.body).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect((await t.anon.post('/api/auth/login', { email: 'not-an-email', password: 'x' })).status).toBe(400);
    expect((await t.anon.post('/api/auth/login', '{"email":')).body).toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  it('rate limits repeated failures per email with Retry-After, and still refuses the right password then', async () => {
    const tenant = await createTenant(t.admin);
    const { user, password } = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await t.anon.post('/api/auth/login', { email: user.email, password: strongPassword() })).status);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    const limited = await t.anon.post('/api/auth/login', { email: user.email, password });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('tokens', () => {
  it('are ES256 JWTs with the claims the gateway expects, verifiable with the published JWKS', async () => {
    const login = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: 'admin@albatross.local',
      password: t.adminPassword,
    });
    expect(login.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    const jwks = await t.anon.get<Jwks>('/.well-known/jwks.json');
    expect(jwks.body.keys.length).toBeGreaterThan(0);
    expect(JSON.stringify(jwks.body)).not.toMatch(/"d"/); // no private part
    const { payload, protectedHeader } = await jwtVerify(login.body.access_token, createLocalJWKSet(jwks.body));
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ tenant_id: 'platform', roles: ['PlatformAdmin'] });
    expect(typeof payload.sub).toBe('string');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  it('rotate on refresh; reusing a rotated refresh token revokes its family', async () => {
    const login = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: 'admin@albatross.local',
      password: t.adminPassword,
    });
    const first = login.body.refresh_token;
    const second = await t.anon.post<TokenResponse>('/api/auth/refresh', { refresh_token: first });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first);
    const reuse = await t.anon.post('/api/auth/refresh', { refresh_token: first });
    expect(reuse.status).toBe(401);
    // The family is revoked: the token the reuse did not know about is dead too.
    expect((await t.anon.post('/api/auth/refresh', { refresh_token: second.body.refresh_token })).status).toBe(401);
  });

  it('logout revokes the refresh token', async () => {
    const login = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: 'admin@albatross.local',
      password: t.adminPassword,
    });
    expect((await t.anon.post('/api/auth/logout', { refresh_token: login.body.refresh_token })).status).toBe(204);
    expect((await t.anon.post('/api/auth/refresh', { refresh_token: login.body.refresh_token })).status).toBe(401);
  });

  it('refuses forged, tampered and missing credentials', async () => {
    expect((await t.anon.get('/api/me')).status).toBe(401);
    expect((await t.anon.as('alb_not-a-real-key-000000000000000000000000').get('/api/me')).status).toBe(401);
    const login = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: 'admin@albatross.local',
      password: t.adminPassword,
    });
    const [h, p, s] = login.body.access_token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), sub: 'someone-else' }),
    ).toString('base64url');
    const tampered = await t.anon.as(`${h}.${forgedPayload}.${s}`).get('/api/me');
    expect(tampered.status).toBe(401);
    expect(tampered.body).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('keys rotate: new tokens use the new key, old tokens still verify, both keys are published', async () => {
    const before = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: 'admin@albatross.local',
      password: t.adminPassword,
    });
    const oldKid = decodeProtectedHeader(before.body.access_token).kid;
    const newKid = await rotateSigningKey(t.store);
    await t.platform.context.keys.reload();
    const after = await t.anon.post<TokenResponse>('/api/auth/login', {
      email: 'admin@albatross.local',
      password: t.adminPassword,
    });
    expect(decodeProtectedHeader(after.body.access_token).kid).toBe(newKid);
    const kids = (await t.anon.get<Jwks>('/.well-known/jwks.json')).body.keys.map((k) => k.kid);
    expect(kids).toContain(oldKid);
    expect(kids).toContain(newKid);
    expect((await new Api(t.platform.url, before.body.access_token).get('/api/me')).status).toBe(200);
    expect((await new Api(t.platform.url, after.body.access_token).get('/api/me')).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('serves a 3.1 document with every route of the contract', async () => {
    const doc = await t.anon.get<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      '/api/openapi.json',
    );
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    for (const [path, method] of [
      ['/api/auth/login', 'post'],
      ['/api/auth/refresh', 'post'],
      ['/api/auth/logout', 'post'],
      ['/api/me', 'get'],
      ['/api/me/password', 'post'],
      ['/api/tenants', 'post'],
      ['/api/tenants', 'get'],
      ['/api/tenants/{id}', 'get'],
      ['/api/tenants/{id}', 'patch'],
      ['/api/tenants/{id}/suspend', 'post'],
      ['/api/tenants/{id}/reactivate', 'post'],
      ['/api/tenants/{tenant_id}/users', 'post'],
      ['/api/users', 'get'],
      ['/api/users/{id}', 'get'],
      ['/api/users/{id}', 'patch'],
      ['/api/users/{id}/deactivate', 'post'],
      ['/api/users/{id}/reactivate', 'post'],
      ['/api/users/{id}/apikeys', 'post'],
      ['/api/users/{id}/apikeys', 'get'],
      ['/api/users/{id}/apikeys/{key_id}', 'delete'],
    ] as const) {
      expect(doc.body.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });
});
