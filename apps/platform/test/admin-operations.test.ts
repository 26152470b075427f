import { openEventStore, type SqlEventStore } from '@albatross/cqrs';
import { ConnectionPageSchema, ProjectionListSchema, RebuildResultSchema, Role } from '@albatross/platform-api';
import { silentLogger } from '@albatross/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../src/app.js';
import { PIREPS_PROJECTION } from '../src/pireps/projection.js';
import { REALTIME_PROJECTION } from '../src/realtime/projection.js';
import { REVOCATION_PROJECTION } from '../src/realtime/revocation.js';
import { TENANTS_PROJECTION } from '../src/tenants/projection.js';
import { USERS_PROJECTION } from '../src/users/projection.js';
import { call, type Loose, WsClient } from './support/clients.js';
import { createTenant, createUser, platformAdmin, type Session, startPlatform } from './support/platform.js';

/*
 * The operations endpoints over HTTP: PlatformAdmin only, the gateway's
 * connection registry with a real WebSocket client listed then
 * disconnected, the projections' status and rebuild.
 */

let store: SqlEventStore;
let platform: Platform;
let wsUrl: string;
let root: Session;
let tenantA: string;
let tenantB: string;
let adminA: Session;
let pilotA: Session;
let pilotB: Session;
const clients: WsClient[] = [];

const connect = async (token: string) => {
  const client = await WsClient.open(wsUrl, { token });
  clients.push(client);
  return client;
};
const as = (session: Session) => ({
  get: (path: string) => call(platform.url, 'GET', path, { token: session.token }),
  post: (path: string, body?: unknown) =>
    call(platform.url, 'POST', path, { token: session.token, ...(body === undefined ? {} : { body }) }),
});

beforeAll(async () => {
  store = await openEventStore({ url: 'memory://' });
  platform = await startPlatform({ store, port: 0, logger: silentLogger });
  wsUrl = `${platform.url.replace('http', 'ws')}/ws`;
  root = await platformAdmin(platform);
  tenantA = await createTenant(platform.url, root, 'Ops Alpha');
  tenantB = await createTenant(platform.url, root, 'Ops Bravo');
  adminA = await createUser(platform.url, root, tenantA, [Role.TenantAdmin]);
  pilotA = await createUser(platform.url, adminA, tenantA, [Role.Pilot]);
  pilotB = await createUser(platform.url, root, tenantB, [Role.Pilot]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await platform?.close();
  await store?.close();
});

describe('RBAC of /api/admin/*', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/api/admin/connections'],
    ['POST', '/api/admin/connections/disconnect', { tenant_id: 'x' }],
    ['GET', '/api/admin/projections'],
    ['POST', `/api/admin/projections/${TENANTS_PROJECTION}/rebuild`],
  ];

  it('TenantAdmins and Pilots get 403 FORBIDDEN; anonymous callers 401; nothing is disconnected', async () => {
    const pilotSocket = await connect(pilotA.token);
    for (const [method, path, body] of routes) {
      for (const caller of [adminA, pilotA]) {
        const answer = await call(platform.url, method, path, {
          token: caller.token,
          ...(body === undefined ? {} : { body }),
        });
        expect([method, path, answer.status, answer.body.code]).toEqual([method, path, 403, 'FORBIDDEN']);
      }
      const anonymous = await call(platform.url, method, path, body === undefined ? {} : { body });
      expect([path, anonymous.status, anonymous.body.code]).toEqual([path, 401, 'UNAUTHORIZED']);
    }
    // A TenantAdmin's disconnect of their own tenant is refused too, and closes nothing.
    const refused = await as(adminA).post('/api/admin/connections/disconnect', { tenant_id: tenantA });
    expect(refused.status).toBe(403);
    expect(await pilotSocket.closedWith(200)).toBeNull();
    pilotSocket.close();
  });
});

describe('GET /api/admin/connections and POST /api/admin/connections/disconnect', () => {
  it('lists a real WebSocket connection, filters it, then disconnects it with 4003 while others stay', async () => {
    const target = await connect(pilotA.token);
    const bystander = await connect(pilotB.token);
    const welcome = target.frames.find((f) => f.type === 'welcome');
    const connectionId = String(welcome?.connection_id);

    const all = await as(root).get('/api/admin/connections');
    expect(all.status).toBe(200);
    ConnectionPageSchema.parse(all.body);
    const ids = all.body.items.map((c: Loose) => c.connection_id);
    expect(ids).toContain(connectionId);

    const ofA = await as(root).get(`/api/admin/connections?tenant_id=${tenantA}`);
    expect(ofA.body.items.map((c: Loose) => c.connection_id)).toEqual([connectionId]);
    expect(ofA.body.items[0]).toMatchObject({
      tenant_id: tenantA,
      user_id: pilotA.id,
      state: 'open',
      credential: 'jwt',
    });
    const ofUser = await as(root).get(`/api/admin/connections?tenant_id=${tenantB}&user_id=${pilotA.id}`);
    expect(ofUser.body).toEqual({ items: [], next_cursor: null });

    const closed = await as(root).post('/api/admin/connections/disconnect', { connection_id: connectionId });
    expect(closed).toMatchObject({ status: 200, body: { disconnected: 1 } });
    expect(await target.closedWith()).toBe(4003);
    // The other tenant's connection is untouched, and the registry no longer lists the closed one.
    expect(await bystander.closedWith(200)).toBeNull();
    const after = await as(root).get('/api/admin/connections');
    expect(after.body.items.map((c: Loose) => c.connection_id)).not.toContain(connectionId);

    const byUser = await as(root).post('/api/admin/connections/disconnect', { user_id: pilotB.id });
    expect(byUser.body).toEqual({ disconnected: 1 });
    expect(await bystander.closedWith()).toBe(4003);
  });

  it('pages with limit and next_cursor', async () => {
    const a = await connect(pilotA.token);
    const b = await connect(pilotA.token);
    const first = await as(root).get(`/api/admin/connections?user_id=${pilotA.id}&limit=1`);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await as(root).get(
      `/api/admin/connections?user_id=${pilotA.id}&limit=1&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].connection_id).not.toBe(first.body.items[0].connection_id);
    a.close();
    b.close();
  });

  it('refuses bad input with 400 INVALID_MESSAGE and closes nothing', async () => {
    const live = await connect(pilotA.token);
    for (const body of [{}, { tenant_id: '' }, { user_id: 'a b' }, { connection_id: 7 }, { api_key_id: 'k' }, []]) {
      const answer = await as(root).post('/api/admin/connections/disconnect', body);
      expect([JSON.stringify(body), answer.status, answer.body.code]).toEqual([
        JSON.stringify(body),
        400,
        'INVALID_MESSAGE',
      ]);
    }
    for (const query of ['limit=0', 'limit=201', 'cursor=!!', 'cursor=abc', 'tenant_id=a%20b', 'other=1']) {
      const answer = await as(root).get(`/api/admin/connections?${query}`);
      expect([query, answer.status, answer.body.code]).toEqual([query, 400, 'INVALID_MESSAGE']);
    }
    expect(await live.closedWith(200)).toBeNull();
    live.close();
  });
});

describe('GET /api/admin/projections and POST /api/admin/projections/{name}/rebuild', () => {
  it("lists every projection's position and lag against the head, and which may be rebuilt", async () => {
    const answer = await as(root).get('/api/admin/projections');
    expect(answer.status).toBe(200);
    const { items } = ProjectionListSchema.parse(answer.body);
    const byName = new Map(items.map((p) => [p.name, p]));
    for (const name of [TENANTS_PROJECTION, USERS_PROJECTION, PIREPS_PROJECTION]) {
      expect(byName.get(name)?.rebuildable, name).toBe(true);
    }
    for (const name of [REALTIME_PROJECTION, REVOCATION_PROJECTION]) {
      expect(byName.get(name)?.rebuildable, name).toBe(false);
    }
    const head = await store.headPosition();
    for (const p of items) {
      expect(p.head).toBeLessThanOrEqual(head);
      expect(p.lag).toBe(p.head - p.position);
      expect(p.parked).toBe(p.parked_events.length);
    }
  });

  it('shows parked events with their errors, oldest first, on their projection only', async () => {
    // A handler failure is recorded by the runner as a parked row; one is written here as the runner would.
    const error = `users handler failed ${Math.random().toString(36).slice(2)}`;
    await store.driver.query(
      `INSERT INTO albatross_parked_events (projection, position, stream_id, type, error, attempts)
       VALUES ($1, 2, 'user-x', 'user.updated', $2, 3), ($1, 1, 'user-y', 'user.created', 'first', 3)`,
      [USERS_PROJECTION, error],
    );
    try {
      const { items } = ProjectionListSchema.parse((await as(root).get('/api/admin/projections')).body);
      const users = items.find((p) => p.name === USERS_PROJECTION);
      expect(users?.parked).toBe(2);
      expect(users?.parked_events.map((e) => [e.position, e.stream_id, e.type, e.error, e.attempts])).toEqual([
        [1, 'user-y', 'user.created', 'first', 3],
        [2, 'user-x', 'user.updated', error, 3],
      ]);
      for (const other of items.filter((p) => p.name !== USERS_PROJECTION)) {
        expect([other.name, other.parked, other.parked_events]).toEqual([other.name, 0, []]);
      }
    } finally {
      await store.driver.query('DELETE FROM albatross_parked_events WHERE projection = $1', [USERS_PROJECTION]);
    }
  });

  it('rebuilds a read model, which keeps serving the same rows', async () => {
    const before = await as(root).get('/api/tenants?limit=200');
    const head = await store.headPosition();
    const answer = await as(root).post(`/api/admin/projections/${TENANTS_PROJECTION}/rebuild`);
    expect(answer.status).toBe(200);
    const result = RebuildResultSchema.parse(answer.body);
    expect(result.name).toBe(TENANTS_PROJECTION);
    expect(result.position).toBeGreaterThanOrEqual(head);
    expect(result.applied).toBeGreaterThanOrEqual(3); // platform, Ops Alpha, Ops Bravo
    expect(result.parked).toBe(0);
    const after = await as(root).get('/api/tenants?limit=200');
    expect(after.body.items).toEqual(before.body.items);
  });

  it('refuses the realtime projections with 409 INVALID_STATE, and they do not replay', async () => {
    const pilot = await connect(pilotA.token);
    const { count } = (
      await store.driver.query<{ count: unknown }>(
        `SELECT count(*) AS count FROM albatross_projections WHERE name = $1`,
        [REALTIME_PROJECTION],
      )
    )[0] ?? { count: 0 };
    expect(Number(count)).toBe(1);
    const positionOf = async (name: string) =>
      Number(
        (
          await store.driver.query<{ position: unknown }>(
            'SELECT position FROM albatross_projections WHERE name = $1',
            [name],
          )
        )[0]?.position,
      );
    const before = await positionOf(REALTIME_PROJECTION);
    for (const name of [REALTIME_PROJECTION, REVOCATION_PROJECTION]) {
      const answer = await as(root).post(`/api/admin/projections/${name}/rebuild`);
      expect([name, answer.status, answer.body.code]).toEqual([name, 409, 'INVALID_STATE']);
    }
    expect(await positionOf(REALTIME_PROJECTION)).toBe(before);
    // Nothing was published again to the pilot's channels.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pilot.events()).toEqual([]);
    pilot.close();
  });

  it('answers 404 NOT_FOUND for an unknown projection and 400 for a malformed name', async () => {
    const unknown = await as(root).post('/api/admin/projections/no_such_projection/rebuild');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
    const malformed = await as(root).post('/api/admin/projections/Bad-Name!/rebuild');
    expect([malformed.status, malformed.body.code]).toEqual([400, 'INVALID_MESSAGE']);
  });
});
