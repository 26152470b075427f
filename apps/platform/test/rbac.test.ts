import type { CreatedApiKey, CreatedUser, Page, Role, Tenant, User } from '@albatross/platform-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  createTenant,
  createUserAndLogin,
  startTestPlatform,
  type TestPlatform,
  uniqueEmail,
} from './helpers.js';

/**
 * The RBAC matrix: every endpoint of the tenants/users/API keys/PIREPs API, for
 * each role, on the caller's own tenant and on another one. Entities the
 * caller may not see answer 404 (ids do not leak); visible entities the
 * caller may not act on answer 403.
 */

type Actor = 'PlatformAdmin' | 'TenantAdmin' | 'Pilot';
const ACTORS: Actor[] = ['PlatformAdmin', 'TenantAdmin', 'Pilot'];

let t: TestPlatform;
let home: Tenant; // the TenantAdmin's and the Pilot's tenant
let other: Tenant;
const api = {} as Record<Actor, Api>;
const self = {} as Record<Actor, User>;

beforeAll(async () => {
  t = await startTestPlatform();
  home = await createTenant(t.admin, 'home');
  other = await createTenant(t.admin, 'other');
  const ta = await createUserAndLogin(t.admin, home.id, ['TenantAdmin']);
  const pilot = await createUserAndLogin(t.admin, home.id, ['Pilot']);
  const me = await t.admin.get<User>('/api/me');
  api.PlatformAdmin = t.admin;
  api.TenantAdmin = ta.api;
  api.Pilot = pilot.api;
  self.PlatformAdmin = me.body;
  self.TenantAdmin = ta.user;
  self.Pilot = pilot.user;
});
afterAll(async () => {
  await t?.close();
});

/** A fresh user made by the PlatformAdmin (so a cell's writes never disturb another cell). */
async function freshUser(tenantId: string, roles: Role[] = ['Pilot']): Promise<CreatedUser> {
  const answer = await t.admin.post<CreatedUser>(`/api/tenants/${tenantId}/users`, {
    email: uniqueEmail('target'),
    display_name: 'Target',
    roles,
  });
  return answer.body;
}

async function freshKey(userId: string): Promise<CreatedApiKey> {
  return (await t.admin.post<CreatedApiKey>(`/api/users/${userId}/apikeys`, { name: 'k' })).body;
}

const PIREP = {
  flight_number: 'AF1',
  aircraft: 'F-GKXA',
  departure: 'LFPG',
  arrival: 'LFBO',
  block_off: '2026-11-30T08:00:00Z',
  block_on: '2026-11-30T09:20:00Z',
};

/** Pilots besides the matrix's own: one more in home, one in other (made once, on first use). */
let morePilots: Promise<{ sibling: Api; foreign: Api }> | null = null;

/** A fresh PIREP filed by the matrix's Pilot (`own`), another pilot of home, or a pilot of other. */
async function filed(by: 'own' | 'sibling' | 'foreign'): Promise<string> {
  morePilots ??= (async () => ({
    sibling: (await createUserAndLogin(t.admin, home.id, ['Pilot'])).api,
    foreign: (await createUserAndLogin(t.admin, other.id, ['Pilot'])).api,
  }))();
  const pilots = await morePilots;
  const as = by === 'own' ? api.Pilot : pilots[by];
  const answer = await as.post<{ id: string }>('/api/pireps', PIREP);
  if (answer.status !== 201) throw new Error(`file PIREP: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.id;
}

interface Cell {
  name: string;
  run: (as: Api, actor: Actor) => Promise<number>;
  expected: Record<Actor, number>;
}

const m = (pa: number, ta: number, pilot: number): Record<Actor, number> => ({
  PlatformAdmin: pa,
  TenantAdmin: ta,
  Pilot: pilot,
});

const cells: Cell[] = [
  // ---- tenants
  {
    name: 'POST /api/tenants',
    run: async (as) => (await as.post('/api/tenants', { name: 'new' })).status,
    expected: m(201, 403, 403),
  },
  { name: 'GET /api/tenants', run: async (as) => (await as.get('/api/tenants')).status, expected: m(200, 200, 200) },
  {
    name: 'GET own tenant',
    run: async (as) => (await as.get(`/api/tenants/${home.id}`)).status,
    expected: m(200, 200, 200),
  },
  {
    name: 'GET other tenant',
    run: async (as) => (await as.get(`/api/tenants/${other.id}`)).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'PATCH own tenant',
    run: async (as) => (await as.patch(`/api/tenants/${home.id}`, { name: 'home' })).status,
    expected: m(200, 403, 403),
  },
  {
    name: 'PATCH other tenant',
    run: async (as) => (await as.patch(`/api/tenants/${other.id}`, { name: 'other' })).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'suspend+reactivate own tenant',
    run: async (as, actor) => {
      if (actor === 'PlatformAdmin') {
        const scratch = await createTenant(t.admin);
        const s = (await as.post(`/api/tenants/${scratch.id}/suspend`)).status;
        return s === 200 ? (await as.post(`/api/tenants/${scratch.id}/reactivate`)).status : s;
      }
      const s = (await as.post(`/api/tenants/${home.id}/suspend`)).status;
      expect((await as.post(`/api/tenants/${home.id}/reactivate`)).status).toBe(s);
      return s;
    },
    expected: m(200, 403, 403),
  },
  {
    name: 'suspend other tenant',
    run: async (as, actor) =>
      actor === 'PlatformAdmin' ? 404 : (await as.post(`/api/tenants/${other.id}/suspend`)).status,
    expected: m(404, 404, 404),
  },
  // ---- users
  {
    name: 'POST Pilot in own tenant',
    run: async (as) =>
      (await as.post(`/api/tenants/${home.id}/users`, { email: uniqueEmail(), display_name: 'n', roles: ['Pilot'] }))
        .status,
    expected: m(201, 201, 403),
  },
  {
    name: 'POST TenantAdmin in own tenant',
    run: async (as) =>
      (
        await as.post(`/api/tenants/${home.id}/users`, {
          email: uniqueEmail(),
          display_name: 'n',
          roles: ['TenantAdmin'],
        })
      ).status,
    expected: m(201, 201, 403),
  },
  {
    name: 'POST PlatformAdmin in own tenant',
    run: async (as) =>
      (
        await as.post(`/api/tenants/${home.id}/users`, {
          email: uniqueEmail(),
          display_name: 'n',
          roles: ['PlatformAdmin'],
        })
      ).status,
    expected: m(201, 403, 403),
  },
  {
    name: 'POST user in other tenant',
    run: async (as) =>
      (await as.post(`/api/tenants/${other.id}/users`, { email: uniqueEmail(), display_name: 'n', roles: ['Pilot'] }))
        .status,
    expected: m(201, 404, 404),
  },
  { name: 'GET /api/users', run: async (as) => (await as.get('/api/users')).status, expected: m(200, 200, 200) },
  {
    name: 'GET self',
    run: async (as, actor) => (await as.get(`/api/users/${self[actor].id}`)).status,
    expected: m(200, 200, 200),
  },
  {
    name: 'GET same-tenant user',
    run: async (as) => (await as.get(`/api/users/${(await freshUser(home.id)).id}`)).status,
    expected: m(200, 200, 404),
  },
  {
    name: 'GET other-tenant user',
    run: async (as) => (await as.get(`/api/users/${(await freshUser(other.id)).id}`)).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'GET a PlatformAdmin',
    run: async (as) => (await as.get(`/api/users/${self.PlatformAdmin.id}`)).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'PATCH self display_name',
    run: async (as, actor) =>
      (await as.patch(`/api/users/${self[actor].id}`, { display_name: `${actor} renamed` })).status,
    expected: m(200, 200, 200),
  },
  {
    name: 'PATCH self roles',
    run: async (as, actor) => (await as.patch(`/api/users/${self[actor].id}`, { roles: self[actor].roles })).status,
    expected: m(200, 200, 403),
  },
  {
    name: 'PATCH same-tenant user roles to TenantAdmin',
    run: async (as) =>
      (await as.patch(`/api/users/${(await freshUser(home.id)).id}`, { roles: ['TenantAdmin'] })).status,
    expected: m(200, 200, 404),
  },
  {
    name: 'PATCH same-tenant user roles to PlatformAdmin',
    run: async (as) =>
      (await as.patch(`/api/users/${(await freshUser(home.id)).id}`, { roles: ['PlatformAdmin'] })).status,
    expected: m(200, 403, 404),
  },
  {
    name: 'PATCH same-tenant PlatformAdmin user',
    run: async (as) =>
      (await as.patch(`/api/users/${(await freshUser(home.id, ['PlatformAdmin'])).id}`, { display_name: 'x' })).status,
    expected: m(200, 403, 404),
  },
  {
    name: 'PATCH other-tenant user',
    run: async (as) => (await as.patch(`/api/users/${(await freshUser(other.id)).id}`, { display_name: 'x' })).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'deactivate+reactivate same-tenant user',
    run: async (as) => {
      const target = await freshUser(home.id);
      const s = (await as.post(`/api/users/${target.id}/deactivate`)).status;
      if (s === 200) expect((await as.post(`/api/users/${target.id}/reactivate`)).status).toBe(200);
      return s;
    },
    expected: m(200, 200, 404),
  },
  {
    name: 'deactivate self',
    run: async (as, actor) => (await as.post(`/api/users/${self[actor].id}/deactivate`)).status,
    expected: m(403, 403, 403),
  },
  {
    name: 'deactivate other-tenant user',
    run: async (as) => (await as.post(`/api/users/${(await freshUser(other.id)).id}/deactivate`)).status,
    expected: m(200, 404, 404),
  },
  // ---- API keys
  {
    name: 'POST own API key',
    run: async (as, actor) => (await as.post(`/api/users/${self[actor].id}/apikeys`, { name: 'k' })).status,
    expected: m(201, 201, 201),
  },
  {
    name: 'GET own API keys',
    run: async (as, actor) => (await as.get(`/api/users/${self[actor].id}/apikeys`)).status,
    expected: m(200, 200, 200),
  },
  {
    name: 'POST same-tenant user API key',
    run: async (as) => (await as.post(`/api/users/${(await freshUser(home.id)).id}/apikeys`, { name: 'k' })).status,
    expected: m(201, 201, 404),
  },
  {
    name: 'GET same-tenant user API keys',
    run: async (as) => (await as.get(`/api/users/${(await freshUser(home.id)).id}/apikeys`)).status,
    expected: m(200, 200, 404),
  },
  {
    name: 'GET same-tenant PlatformAdmin API keys',
    run: async (as) => (await as.get(`/api/users/${(await freshUser(home.id, ['PlatformAdmin'])).id}/apikeys`)).status,
    expected: m(200, 403, 404),
  },
  {
    name: 'DELETE same-tenant user API key',
    run: async (as) => {
      const target = await freshUser(home.id);
      const key = await freshKey(target.id);
      return (await as.delete(`/api/users/${target.id}/apikeys/${key.id}`)).status;
    },
    expected: m(204, 204, 404),
  },
  {
    name: 'DELETE other-tenant user API key',
    run: async (as) => {
      const target = await freshUser(other.id);
      const key = await freshKey(target.id);
      return (await as.delete(`/api/users/${target.id}/apikeys/${key.id}`)).status;
    },
    expected: m(204, 404, 404),
  },
  {
    name: 'GET other-tenant user API keys',
    run: async (as) => (await as.get(`/api/users/${(await freshUser(other.id)).id}/apikeys`)).status,
    expected: m(200, 404, 404),
  },
  // ---- PIREPs: `own` filed by the matrix's Pilot, `sibling` by another pilot of home, `foreign` in other
  {
    name: 'POST /api/pireps',
    run: async (as) => (await as.post('/api/pireps', PIREP)).status,
    expected: m(403, 403, 201),
  },
  { name: 'GET /api/pireps', run: async (as) => (await as.get('/api/pireps')).status, expected: m(200, 200, 200) },
  {
    name: 'GET own PIREP',
    run: async (as) => (await as.get(`/api/pireps/${await filed('own')}`)).status,
    expected: m(200, 200, 200),
  },
  {
    name: 'GET same-tenant pilot’s PIREP',
    run: async (as) => (await as.get(`/api/pireps/${await filed('sibling')}`)).status,
    expected: m(200, 200, 404),
  },
  {
    name: 'GET other-tenant PIREP',
    run: async (as) => (await as.get(`/api/pireps/${await filed('foreign')}`)).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'PATCH own PIREP',
    run: async (as) => (await as.patch(`/api/pireps/${await filed('own')}`, { remarks: 'r' })).status,
    expected: m(403, 403, 200),
  },
  {
    name: 'PATCH same-tenant pilot’s PIREP',
    run: async (as) => (await as.patch(`/api/pireps/${await filed('sibling')}`, { remarks: 'r' })).status,
    expected: m(403, 403, 404),
  },
  {
    name: 'PATCH other-tenant PIREP',
    run: async (as) => (await as.patch(`/api/pireps/${await filed('foreign')}`, { remarks: 'r' })).status,
    expected: m(403, 404, 404),
  },
  {
    name: 'approve own PIREP',
    run: async (as) => (await as.post(`/api/pireps/${await filed('own')}/approve`, {})).status,
    expected: m(200, 200, 403),
  },
  {
    name: 'approve same-tenant pilot’s PIREP',
    run: async (as) => (await as.post(`/api/pireps/${await filed('sibling')}/approve`, {})).status,
    expected: m(200, 200, 404),
  },
  {
    name: 'approve other-tenant PIREP',
    run: async (as) => (await as.post(`/api/pireps/${await filed('foreign')}/approve`, {})).status,
    expected: m(200, 404, 404),
  },
  {
    name: 'reject own PIREP',
    run: async (as) => (await as.post(`/api/pireps/${await filed('own')}/reject`, { comment: 'no' })).status,
    expected: m(200, 200, 403),
  },
  {
    name: 'reject other-tenant PIREP',
    run: async (as) => (await as.post(`/api/pireps/${await filed('foreign')}/reject`, { comment: 'no' })).status,
    expected: m(200, 404, 404),
  },
];

describe('RBAC matrix', () => {
  for (const cell of cells) {
    for (const actor of ACTORS) {
      it(`${cell.name} as ${actor} → ${cell.expected[actor]}`, async () => {
        expect(await cell.run(api[actor], actor)).toBe(cell.expected[actor]);
      });
    }
  }
});

describe('list scopes', () => {
  it('a TenantAdmin lists only their tenant; a Pilot only themself; neither sees another tenant by filter', async () => {
    const tenants = await api.TenantAdmin.get<Page<Tenant>>('/api/tenants?limit=200');
    expect(tenants.body.items.map((x) => x.id)).toEqual([home.id]);
    const ofOther = await api.TenantAdmin.get<Page<User>>(`/api/users?tenant_id=${other.id}&limit=200`);
    expect(ofOther.body.items).toEqual([]);
    const users = await api.TenantAdmin.get<Page<User>>('/api/users?limit=200');
    expect(users.body.items.length).toBeGreaterThan(1);
    expect(users.body.items.every((u) => u.tenant_id === home.id)).toBe(true);
    const pilotView = await api.Pilot.get<Page<User>>('/api/users?limit=200');
    expect(pilotView.body.items.map((u) => u.id)).toEqual([self.Pilot.id]);
    const all = await api.PlatformAdmin.get<Page<Tenant>>('/api/tenants?limit=200');
    expect(all.body.items.map((x) => x.id)).toEqual(expect.arrayContaining([home.id, other.id, 'platform']));
  });

  it('forbidden answers say FORBIDDEN and hidden ones NOT_FOUND', async () => {
    expect((await api.Pilot.post('/api/tenants', { name: 'x' })).body).toMatchObject({ code: 'FORBIDDEN' });
    expect((await api.TenantAdmin.get(`/api/tenants/${other.id}`)).body).toMatchObject({ code: 'NOT_FOUND' });
  });
});
