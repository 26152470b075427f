import { loadProjections } from '@albatross/cqrs';
import type { ApiKey, CreatedApiKey, CreatedUser, Page, Tenant, TokenResponse, User } from '@albatross/platform-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../src/index.js';
import type { MemoryLruCache } from '../src/readmodel/cache.js';
import {
  createTenant,
  createUserAndLogin,
  startTestPlatform,
  strongPassword,
  type TestPlatform,
  uniqueEmail,
} from './helpers.js';

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.close();
});

describe('tenants', () => {
  it('create, read, rename with If-Match, suspend and reactivate', async () => {
    const created = await t.admin.post<Tenant>('/api/tenants', { name: 'Northwind Air' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Northwind Air', status: 'active', version: 1 });
    expect(created.headers.get('etag')).toBe('"1"');
    const id = created.body.id;
    expect((await t.admin.get<Tenant>(`/api/tenants/${id}`)).body.name).toBe('Northwind Air');

    const renamed = await t.admin.patch<Tenant>(`/api/tenants/${id}`, { name: 'Northwind' }, { 'if-match': '"1"' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Northwind', version: 2 });
    const stale = await t.admin.patch(`/api/tenants/${id}`, { name: 'Stale' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'CONCURRENCY_CONFLICT' });
    expect((await t.admin.get<Tenant>(`/api/tenants/${id}`)).body.name).toBe('Northwind');
    expect((await t.admin.patch(`/api/tenants/${id}`, { name: 'x' }, { 'if-match': 'nope' })).status).toBe(400);

    const suspended = await t.admin.post<Tenant>(`/api/tenants/${id}/suspend`);
    expect(suspended.body.status).toBe('suspended');
    expect((await t.admin.post(`/api/tenants/${id}/suspend`)).body).toMatchObject({ code: 'INVALID_STATE' });
    expect((await t.admin.post<Tenant>(`/api/tenants/${id}/reactivate`)).body.status).toBe('active');
  });

  it('refuses to suspend the platform tenant, which would lock every platform admin out', async () => {
    const refused = await t.admin.post('/api/tenants/platform/suspend');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'INVALID_STATE' });
    expect((await t.admin.get<Tenant>('/api/tenants/platform')).body.status).toBe('active');
    expect((await t.admin.get('/api/me')).status).toBe(200);
  });

  it('refuses bad input with INVALID_MESSAGE, oversize bodies with 413, unknown ids with 404', async () => {
    for (const body of [{}, { name: '' }, { name: 7 }, { name: 'ok', extra: 1 }, { name: 'x'.repeat(101) }]) {
      const answer = await t.admin.post('/api/tenants', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body).toMatchObject({ code: 'INVALID_MESSAGE' });
    }
    const huge = await t.admin.post('/api/tenants', { name: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect((await t.admin.get('/api/tenants/no-such-tenant')).status).toBe(404);
    expect((await t.admin.get('/api/tenants/bad%20id')).status).toBe(400);
    expect((await t.admin.get('/api/tenants?limit=0')).status).toBe(400);
    expect((await t.admin.get('/api/tenants?limit=201')).status).toBe(400);
    expect((await t.admin.get('/api/tenants?cursor=garbage')).body).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect((await t.admin.get('/api/nothing-here')).body).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pages with a cursor, without loss or duplicates', async () => {
    const mine = new Set<string>();
    for (let i = 0; i < 5; i++) mine.add((await createTenant(t.admin, `paged ${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/api/tenants?limit=2&q=paged${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await t.admin.get<Page<Tenant>>(path);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((x) => x.id));
      cursor = page.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(mine);
    expect(seen.length).toBe(mine.size);
  });

  it('suspension refuses the tenant’s logins, tokens and API keys', async () => {
    const tenant = await createTenant(t.admin);
    const pilot = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const key = await pilot.api.post<CreatedApiKey>(`/api/users/${pilot.user.id}/apikeys`, { name: 'ci' });
    expect((await t.anon.as(key.body.key).get('/api/me')).status).toBe(200);
    await t.admin.post(`/api/tenants/${tenant.id}/suspend`);
    expect((await pilot.api.get('/api/me')).status).toBe(401);
    expect((await t.anon.as(key.body.key).get('/api/me')).status).toBe(401);
    expect((await t.anon.post('/api/auth/login', { email: pilot.user.email, password: pilot.password })).status).toBe(
      401,
    );
    expect((await t.anon.post('/api/auth/refresh', { refresh_token: pilot.tokens.refresh_token })).status).toBe(401);
    await t.admin.post(`/api/tenants/${tenant.id}/reactivate`);
    expect((await t.anon.post('/api/auth/login', { email: pilot.user.email, password: pilot.password })).status).toBe(
      200,
    );
  });
});

describe('users', () => {
  it('are created with or without a password; emails are unique whatever their case', async () => {
    const tenant = await createTenant(t.admin);
    const email = uniqueEmail('dup');
    const first = await t.admin.post<CreatedUser>(`/api/tenants/${tenant.id}/users`, {
      email,
      display_name: 'First',
      roles: ['Pilot'],
      password: strongPassword(),
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ email, tenant_id: tenant.id, roles: ['Pilot'], status: 'active', version: 1 });
    expect(first.body.must_change_password).toBe(false);
    expect(first.body).not.toHaveProperty('initial_password');
    expect(JSON.stringify(first.body)).not.toMatch(/password_hash|scrypt/);
    const again = await t.admin.post(`/api/tenants/${tenant.id}/users`, {
      email: email.toUpperCase(),
      display_name: 'Second',
      roles: ['Pilot'],
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ALREADY_EXISTS' });
    const noPassword = await t.admin.post<CreatedUser>(`/api/tenants/${tenant.id}/users`, {
      email: uniqueEmail('nopw'),
      display_name: 'No password',
      roles: ['TenantAdmin'],
    });
    expect(noPassword.body.must_change_password).toBe(true);
    expect(noPassword.body.initial_password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // The initial password is shown once: never in a read.
    expect(JSON.stringify((await t.admin.get(`/api/users/${noPassword.body.id}`)).body)).not.toContain(
      noPassword.body.initial_password,
    );
    expect(
      (await t.admin.post(`/api/tenants/no-such/users`, { email: uniqueEmail(), display_name: 'x', roles: ['Pilot'] }))
        .status,
    ).toBe(404);
  });

  it('two creations with one email at once: exactly one wins', async () => {
    const tenant = await createTenant(t.admin);
    const email = uniqueEmail('race');
    const answers = await Promise.all(
      [0, 1, 2].map((i) =>
        t.admin.post(`/api/tenants/${tenant.id}/users`, { email, display_name: `R${i}`, roles: ['Pilot'] }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
  });

  it('list filters by tenant, role, status and text', async () => {
    const tenant = await createTenant(t.admin);
    const a = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const b = await createUserAndLogin(t.admin, tenant.id, ['TenantAdmin']);
    const ids = (page: Page<User>) => page.items.map((u) => u.id).sort();
    expect(ids((await t.admin.get<Page<User>>(`/api/users?tenant_id=${tenant.id}`)).body)).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    expect(ids((await t.admin.get<Page<User>>(`/api/users?tenant_id=${tenant.id}&role=Pilot`)).body)).toEqual([
      a.user.id,
    ]);
    expect(ids((await t.admin.get<Page<User>>(`/api/users?q=${encodeURIComponent(b.user.email)}`)).body)).toEqual([
      b.user.id,
    ]);
    await t.admin.post(`/api/users/${a.user.id}/deactivate`);
    expect(ids((await t.admin.get<Page<User>>(`/api/users?tenant_id=${tenant.id}&status=active`)).body)).toEqual([
      b.user.id,
    ]);
    expect((await t.admin.get('/api/users?role=Root')).status).toBe(400);
    expect((await t.admin.get('/api/users?unknown=1')).status).toBe(400);
  });

  it('PATCH changes display_name and roles with If-Match; deactivation revokes sessions and keys', async () => {
    const tenant = await createTenant(t.admin);
    const u = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const patched = await t.admin.patch<User>(
      `/api/users/${u.user.id}`,
      { display_name: 'Captain', roles: ['Pilot', 'TenantAdmin'] },
      { 'if-match': `"${u.user.version}"` },
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ display_name: 'Captain', version: u.user.version + 1 });
    expect([...patched.body.roles].sort()).toEqual(['Pilot', 'TenantAdmin']);
    expect((await t.admin.patch(`/api/users/${u.user.id}`, {})).status).toBe(400);
    const stale = await t.admin.patch(
      `/api/users/${u.user.id}`,
      { display_name: 'Late' },
      { 'if-match': `"${u.user.version}"` },
    );
    expect(stale.body).toMatchObject({ code: 'CONCURRENCY_CONFLICT' });

    const key = await u.api.post<CreatedApiKey>(`/api/users/${u.user.id}/apikeys`, { name: 'laptop' });
    const deactivated = await t.admin.post<User>(`/api/users/${u.user.id}/deactivate`);
    expect(deactivated.body.status).toBe('deactivated');
    expect((await u.api.get('/api/me')).status).toBe(401);
    expect((await t.anon.as(key.body.key).get('/api/me')).status).toBe(401);
    expect((await t.anon.post('/api/auth/refresh', { refresh_token: u.tokens.refresh_token })).status).toBe(401);
    expect((await t.anon.post('/api/auth/login', { email: u.user.email, password: u.password })).status).toBe(401);
    const keys = await t.admin.get<{ items: ApiKey[] }>(`/api/users/${u.user.id}/apikeys`);
    expect(keys.body.items[0]?.revoked_at).not.toBeNull();
    await t.admin.post(`/api/users/${u.user.id}/reactivate`);
    expect((await t.anon.post('/api/auth/login', { email: u.user.email, password: u.password })).status).toBe(200);
    // Keys stay revoked after a reactivation.
    expect((await t.anon.as(key.body.key).get('/api/me')).status).toBe(401);
  });
});

describe('API keys', () => {
  it('show the key once, store only its hash, authenticate by header and ?api_key=, and die on revocation', async () => {
    const tenant = await createTenant(t.admin);
    const u = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const created = await u.api.post<CreatedApiKey>(`/api/users/${u.user.id}/apikeys`, { name: 'ci runner' });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^alb_[A-Za-z0-9_-]{43}$/);
    expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
    const events = await t.store.readStream(`user-${u.user.id}`);
    expect(JSON.stringify(events)).not.toContain(created.body.key);

    const viaHeader = await t.anon.as(created.body.key).get<User>('/api/me');
    expect(viaHeader.body.id).toBe(u.user.id);
    const viaQuery = await t.anon.get<User>(`/api/me?api_key=${created.body.key}`);
    expect(viaQuery.body.id).toBe(u.user.id);

    const list = await u.api.get<{ items: ApiKey[]; next_cursor: null }>(`/api/users/${u.user.id}/apikeys`);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({
      id: created.body.id,
      name: 'ci runner',
      prefix: created.body.prefix,
      revoked_at: null,
    });
    expect(list.body.items[0]?.last_used_at).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);

    expect((await u.api.delete(`/api/users/${u.user.id}/apikeys/${created.body.id}`)).status).toBe(204);
    expect((await t.anon.as(created.body.key).get('/api/me')).status).toBe(401);
    expect((await t.anon.get(`/api/me?api_key=${created.body.key}`)).status).toBe(401);
    expect((await u.api.delete(`/api/users/${u.user.id}/apikeys/${created.body.id}`)).body).toMatchObject({
      code: 'INVALID_STATE',
    });
    expect((await u.api.delete(`/api/users/${u.user.id}/apikeys/nope`)).status).toBe(404);
    expect((await u.api.post(`/api/users/${u.user.id}/apikeys`, { name: '' })).status).toBe(400);
    // Revoked keys stay listed; the list pages like every other.
    const more = [];
    for (let i = 0; i < 3; i++)
      more.push((await u.api.post<CreatedApiKey>(`/api/users/${u.user.id}/apikeys`, { name: `k${i}` })).body.id);
    const first = await u.api.get<Page<ApiKey>>(`/api/users/${u.user.id}/apikeys?limit=2`);
    expect(first.body.items.map((k) => k.id)).toEqual([created.body.id, more[0]]);
    const second = await u.api.get<Page<ApiKey>>(
      `/api/users/${u.user.id}/apikeys?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.items.map((k) => k.id)).toEqual([more[1], more[2]]);
    expect(second.body.next_cursor).toBeNull();
  });
});

describe('read-your-writes', () => {
  it('every read after a 2xx command sees the new state, through the query cache', async () => {
    const tenant = await createTenant(t.admin);
    for (let i = 0; i < 5; i++) {
      // Warm the cache, then write, then read: the answer must be the new one every time.
      await t.admin.get(`/api/tenants?q=${encodeURIComponent(tenant.name)}`);
      const name = `renamed ${i} ${tenant.id.slice(0, 6)}`;
      expect((await t.admin.patch(`/api/tenants/${tenant.id}`, { name })).status).toBe(200);
      const list = await t.admin.get<Page<Tenant>>(`/api/tenants?q=${encodeURIComponent(name)}`);
      expect(list.body.items.map((x) => x.name)).toEqual([name]);
      const all = await t.admin.get<Page<Tenant>>('/api/tenants?limit=200');
      expect(all.body.items.find((x) => x.id === tenant.id)?.name).toBe(name);
    }
    expect((t.platform.context.cache as MemoryLruCache).size).toBeGreaterThan(0);
  });
});

describe('correlation ids', () => {
  it('are the request id: the caller’s X-Request-Id, or a fresh UUID, stored with the events', async () => {
    const given = `req-${Date.now()}-abc`;
    const created = await t.admin.post<Tenant>('/api/tenants', { name: 'correlated' }, { 'x-request-id': given });
    expect(created.headers.get('x-request-id')).toBe(given);
    const [event] = await t.store.readStream(`tenant-${created.body.id}`);
    expect(event?.correlationId).toBe(given);
    const other = await t.admin.post<Tenant>('/api/tenants', { name: 'uncorrelated' }, { 'x-request-id': 'bad id!' });
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const [second] = await t.store.readStream(`tenant-${other.body.id}`);
    expect(second?.correlationId).toBe(other.headers.get('x-request-id'));
  });
});

describe('albatross worker --projections @albatross/platform/projections', () => {
  it('loads the platform’s read-model projections by package name', async () => {
    const list = await loadProjections('@albatross/platform/projections', t.store);
    expect(list.map((p) => p.name)).toEqual(readModelProjections.map((p) => p.name));
  });
});

describe('password change', () => {
  it('needs the current password', async () => {
    const tenant = await createTenant(t.admin);
    const u = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const wrong = await u.api.post('/api/me/password', {
      current_password: strongPassword(),
      new_password: strongPassword(),
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'FORBIDDEN' });
    const same = await u.api.post('/api/me/password', { current_password: u.password, new_password: u.password });
    expect(same.status).toBe(400);
    const ok = await u.api.post<TokenResponse>('/api/me/password', {
      current_password: u.password,
      new_password: strongPassword(),
    });
    expect(ok.status).toBe(200);
  });
});
