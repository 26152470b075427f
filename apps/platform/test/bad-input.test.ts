import type { CreatedApiKey, Tenant } from '@albatross/platform-api';
import { ErrorCode } from '@albatross/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, createUserAndLogin, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Hostile input on every route: never a 5xx, always `{ code, message }` with
 * a code from the shared list.
 */

let t: TestPlatform;
let tenant: Tenant;
let userId: string;
let keyId: string;

beforeAll(async () => {
  t = await startTestPlatform();
  tenant = await createTenant(t.admin);
  const u = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
  userId = u.user.id;
  keyId = (await t.admin.post<CreatedApiKey>(`/api/users/${userId}/apikeys`, { name: 'k' })).body.id;
});
afterAll(async () => {
  await t?.close();
});

const BODIES: unknown[] = [
  '[]',
  'null',
  '"text"',
  '42',
  '{"name":null}',
  '{"name":["a"]}',
  '{"name":{"$gt":""}}',
  '{"__proto__":{"admin":true}}',
  '{"email":"a@b.co","password":"x","roles":"PlatformAdmin"}',
  '{"display_name":"\u0000"}',
  '{"name":"nul \u0000 inside"}',
  '{"name":"ok","email":"x@example.com","display_name":"tab\tinside","roles":["Pilot"]}',
  '{"roles":["PlatformAdmin","PlatformAdmin","PlatformAdmin","PlatformAdmin"]}',
  '{',
  '',
];

describe('hostile input', () => {
  it('no route answers 5xx, every error carries a shared code', async () => {
    const routes: [string, string][] = [
      ['POST', '/api/auth/login'],
      ['POST', '/api/auth/refresh'],
      ['POST', '/api/auth/logout'],
      ['POST', '/api/me/password'],
      ['POST', '/api/tenants'],
      ['PATCH', `/api/tenants/${tenant.id}`],
      ['POST', `/api/tenants/${tenant.id}/suspend`],
      ['POST', `/api/tenants/${tenant.id}/users`],
      ['PATCH', `/api/users/${userId}`],
      ['POST', `/api/users/${userId}/deactivate`],
      ['POST', `/api/users/${userId}/apikeys`],
      ['DELETE', `/api/users/${userId}/apikeys/${keyId}x`],
    ];
    const codes = new Set<string>(Object.values(ErrorCode));
    for (const [method, path] of routes) {
      for (const body of BODIES) {
        for (const [type, ifMatch] of [
          ['application/json', '"999"'],
          ['application/json', undefined],
          ['text/plain', undefined],
        ] as const) {
          const answer = await t.admin.request(method, path, body === '' ? undefined : body, {
            'content-type': type,
            ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
          });
          expect(answer.status, `${method} ${path} ${type} ${String(body)}`).toBeLessThan(500);
          if (answer.status >= 400) {
            expect(codes.has((answer.body as { code: string }).code), `${method} ${path} ${String(body)}`).toBe(true);
          }
        }
      }
    }
    for (const query of [
      'limit=1&limit=2',
      'limit=1e3',
      'limit=-1',
      'limit=abc',
      'cursor=',
      `cursor=${'A'.repeat(600)}`,
      `cursor=${Buffer.from('["not a date","x"]').toString('base64url')}`,
      'q=%00',
      `q=${'x'.repeat(101)}`,
      'role=PlatformAdmin&role=Pilot',
      'tenant_id=../etc',
      'status=deleted',
    ]) {
      for (const path of ['/api/tenants', '/api/users']) {
        const answer = await t.admin.get(`${path}?${query}`);
        expect(answer.status, `${path}?${query}`).toBeLessThan(500);
        if (answer.status >= 400) expect(codes.has((answer.body as { code: string }).code)).toBe(true);
      }
    }
    for (const id of ['%2e%2e', 'a'.repeat(65), '%00', 'ü', "'; DROP TABLE users; --"]) {
      for (const path of [`/api/tenants/${id}`, `/api/users/${id}`, `/api/users/${id}/apikeys`]) {
        const answer = await t.admin.get(path);
        expect([400, 404], `${path}`).toContain(answer.status);
      }
    }
  });

  it('hostile credentials answer 401, never 5xx', async () => {
    for (const header of [
      'Bearer',
      'Basic abc',
      'Bearer a.b.c',
      `Bearer ${'x'.repeat(5000)}`,
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    ]) {
      const answer = await t.anon.get('/api/me', { authorization: header });
      expect(answer.status, header.slice(0, 40)).toBe(401);
    }
  });
});
