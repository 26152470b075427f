import { adminChannel, Role } from '@albatross/platform-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, WsClient } from './support/clients.js';
import { login, newPassword } from './support/platform.js';
import { type PlatformProcess, startPlatformProcess } from './support/processes.js';
import { createDatabase, startRedis, type TestDatabase, type TestRedis } from './support/services.js';

/*
 * Two platform processes on one PostgreSQL database (of this test's own)
 * and one Redis (a redis-server this test starts), as behind a load
 * balancer: what one node does reaches the other's WebSocket clients.
 */

let redis: TestRedis;
let db: TestDatabase;
let a: PlatformProcess;
let b: PlatformProcess;
const clients: WsClient[] = [];

beforeAll(async () => {
  [redis, db] = await Promise.all([startRedis(), createDatabase()]);
  const env = { DATABASE_URL: db.url, REDIS_URL: redis.url };
  // One after the other: the first creates the admin; the second finds it.
  a = await startPlatformProcess(env);
  b = await startPlatformProcess(env);
}, 300_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([redis?.stop(), db?.drop()]);
}, 60_000);

describe('two platform processes on Redis and PostgreSQL', () => {
  it('an API key revoked on one node closes its connection on the other 4003; PIREPs cross nodes', async () => {
    const boot = a.lines.find((line) => typeof line.one_time_password === 'string');
    expect(boot, a.output.join('\n')).toBeDefined();
    expect(b.lines.some((line) => typeof line.one_time_password === 'string')).toBe(false);
    const email = String(boot?.email ?? 'admin@albatross.local');
    const first = await login(a.url, email, String(boot?.one_time_password));
    const rootPassword = newPassword();
    const changed = await call(a.url, 'POST', '/api/me/password', {
      token: first.access_token,
      body: { current_password: boot?.one_time_password, new_password: rootPassword },
    });
    expect(changed.status).toBe(200);
    const root = changed.body.access_token as string;

    const tenant = await call(a.url, 'POST', '/api/tenants', { token: root, body: { name: 'Charlie Cargo' } });
    expect(tenant.status).toBe(201);
    const tid: string = tenant.body.id;
    const people: Record<string, { id: string; token: string }> = {};
    for (const [name, role] of [
      ['pilot', Role.Pilot],
      ['admin', Role.TenantAdmin],
    ] as const) {
      const password = newPassword();
      const created = await call(a.url, 'POST', `/api/tenants/${tid}/users`, {
        token: root,
        body: { email: `${name}-${tid.slice(0, 8)}@example.com`, display_name: name, roles: [role], password },
      });
      expect(created.status).toBe(201);
      // Logging in on the other node: it reads the same store.
      const tokens = await login(b.url, created.body.email, password);
      people[name] = { id: created.body.id, token: tokens.access_token };
    }
    const pilot = people.pilot as { id: string; token: string };
    const admin = people.admin as { id: string; token: string };

    // A PIREP filed on node A reaches the TenantAdmin connected to node B.
    const adminOnB = await WsClient.open(b.wsUrl, { token: admin.token });
    clients.push(adminOnB);
    expect(await adminOnB.subscribe(adminChannel(tid), 1)).toBe('ok');
    const filed = await call(a.url, 'POST', '/api/pireps', {
      token: pilot.token,
      body: {
        flight_number: 'CC42',
        aircraft: 'D-AXLA',
        departure: 'EDDF',
        arrival: 'LOWW',
        block_off: '2026-11-30T06:00:00Z',
        block_on: '2026-11-30T07:20:00Z',
      },
    });
    expect(filed.status).toBe(201);
    const submitted = await adminOnB.waitFor((f) => f.type === 'event' && f.event_type === 'pirep.submitted', 5000);
    expect(submitted.payload).toMatchObject({ id: filed.body.id, pilot_id: pilot.id });

    // An API key used on both nodes, revoked through node A.
    const key = await call(a.url, 'POST', `/api/users/${pilot.id}/apikeys`, {
      token: pilot.token,
      body: { name: 'hangar kiosk' },
    });
    expect(key.status).toBe(201);
    const keyOnB = await WsClient.open(b.wsUrl, { apiKeyInQuery: key.body.key });
    const keyOnA = await WsClient.open(a.wsUrl, { apiKeyInQuery: key.body.key });
    const pilotOnB = await WsClient.open(b.wsUrl, { token: pilot.token });
    clients.push(keyOnB, keyOnA, pilotOnB);
    const revoked = await call(a.url, 'DELETE', `/api/users/${pilot.id}/apikeys/${key.body.id}`, {
      token: pilot.token,
    });
    expect(revoked.status).toBe(204);
    expect(await keyOnB.closedWith(1000)).toBe(4003);
    expect(await keyOnA.closedWith(1000)).toBe(4003);
    expect(pilotOnB.closed).toBeNull();
    expect(adminOnB.closed).toBeNull();
    // Refused everywhere afterwards.
    await expect(WsClient.open(b.wsUrl, { apiKeyInQuery: key.body.key })).rejects.toThrow(/401/);
    const byKey = await call(b.url, 'GET', '/api/me', { token: key.body.key });
    expect(byKey.status).toBe(401);
  });
});
