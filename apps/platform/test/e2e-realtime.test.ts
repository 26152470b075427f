import { openEventStore, type SqlEventStore } from '@albatross/cqrs';
import {
  adminChannel,
  PLATFORM_TENANTS_CHANNEL,
  PlatformPublicationSchema,
  pirepChannel,
  Role,
  tenantChannel,
  userUpdatesChannel,
} from '@albatross/platform-api';
import { silentLogger } from '@albatross/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../src/app.js';
import { call, WsClient } from './support/clients.js';
import { createTenant, createUser, platformAdmin, type Session, startPlatform } from './support/platform.js';

/*
 * The platform in one process, through its HTTP API and WebSocket, as a
 * browser sees it: PIREP events reach exactly who may see them, reviews
 * race safely, revoked keys lose their connections.
 */

const report = {
  flight_number: 'AF1234',
  aircraft: 'F-GKXA',
  departure: 'LFPG',
  arrival: 'EGLL',
  block_off: '2026-11-30T08:00:00.000Z',
  block_on: '2026-11-30T09:15:00.000Z',
};

let store: SqlEventStore;
let platform: Platform;
let wsUrl: string;
let root: Session;
let tenantA: string;
let tenantB: string;
let adminA: Session;
let pilotA1: Session;
let pilotA2: Session;
let pilotB: Session;
const clients: WsClient[] = [];

const connect = async (credential: { token?: string; apiKeyInQuery?: string }) => {
  const client = await WsClient.open(wsUrl, credential);
  clients.push(client);
  return client;
};

beforeAll(async () => {
  store = await openEventStore({ url: 'memory://' });
  platform = await startPlatform({ store, port: 0, logger: silentLogger });
  wsUrl = `${platform.url.replace('http', 'ws')}/ws`;
  root = await platformAdmin(platform);
  tenantA = await createTenant(platform.url, root, 'Alpha Air');
  tenantB = await createTenant(platform.url, root, 'Bravo Jets');
  adminA = await createUser(platform.url, root, tenantA, [Role.TenantAdmin]);
  pilotA1 = await createUser(platform.url, adminA, tenantA, [Role.Pilot]);
  pilotA2 = await createUser(platform.url, adminA, tenantA, [Role.Pilot]);
  pilotB = await createUser(platform.url, root, tenantB, [Role.Pilot]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await platform?.close();
  await store?.close();
});

describe('PIREPs in realtime', () => {
  it("a TenantAdmin sees pirep.submitted after the pilot's POST; other pilots see nothing", async () => {
    const admin = await connect({ token: adminA.token });
    const otherPilot = await connect({ token: pilotA2.token });
    const foreignPilot = await connect({ token: pilotB.token });
    const pilot = await connect({ token: pilotA1.token });
    expect(await admin.subscribe(adminChannel(tenantA), 1)).toBe('ok');
    expect(await foreignPilot.subscribe(adminChannel(tenantA), 1)).toBe('FORBIDDEN');
    expect(await otherPilot.subscribe(adminChannel(tenantA), 1)).toBe('FORBIDDEN');

    const created = await call(platform.url, 'POST', '/api/pireps', { token: pilotA1.token, body: report });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'submitted', pilot_id: pilotA1.id, tenant_id: tenantA, version: 1 });
    const id: string = created.body.id;
    // Latency is the benchmarks' and the console e2e's to report; a test only bounds the wait.
    const event = await admin.waitFor((f) => f.type === 'event' && f.event_type === 'pirep.submitted', 10_000);
    expect(event).toMatchObject({
      channel: adminChannel(tenantA),
      payload: { id, pilot_id: pilotA1.id, tenant_id: tenantA, status: 'submitted', flight_number: 'AF1234' },
      meta: { user_id: pilotA1.id },
    });
    expect(typeof event.meta.correlation_id).toBe('string');
    expect(event.meta.changed_fields).toEqual(expect.arrayContaining(['departure', 'arrival', 'block_on']));
    await pilot.waitFor((f) => f.type === 'event' && f.payload?.id === id);

    // pirep:{id} is closed to another pilot of the same tenant and to other tenants.
    expect(await otherPilot.subscribe(pirepChannel(id), 2)).toBe('FORBIDDEN');
    expect(await foreignPilot.subscribe(pirepChannel(id), 2)).toBe('FORBIDDEN');
    expect(await pilot.subscribe(pirepChannel(id), 2)).toBe('ok');

    const amended = await call(platform.url, 'PATCH', `/api/pireps/${id}`, {
      token: pilotA1.token,
      body: { remarks: 'light chop over the Channel' },
      headers: { 'if-match': '"1"' },
    });
    expect(amended.status).toBe(200);
    const seen = await pilot.waitFor((f) => f.type === 'event' && f.channel === pirepChannel(id));
    expect(seen).toMatchObject({ event_type: 'pirep.amended', meta: { changed_fields: ['remarks'] } });
    await admin.waitFor((f) => f.type === 'event' && f.event_type === 'pirep.amended');

    // Settle: anything else would have arrived by the time the admin saw the amendment.
    for (const outsider of [otherPilot, foreignPilot]) {
      expect(outsider.events().filter((f) => JSON.stringify(f).includes(id))).toEqual([]);
    }
  });

  it('of two approvals at once, one wins and the other answers 409', async () => {
    for (let round = 0; round < 3; round++) {
      const created = await call(platform.url, 'POST', '/api/pireps', { token: pilotA1.token, body: report });
      const id = created.body.id;
      const answers = await Promise.all([
        call(platform.url, 'POST', `/api/pireps/${id}/approve`, { token: adminA.token, body: {} }),
        call(platform.url, 'POST', `/api/pireps/${id}/approve`, { token: root.token, body: { comment: 'ok' } }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const loser = answers.find((a) => a.status === 409);
      expect(['INVALID_STATE', 'CONCURRENCY_CONFLICT']).toContain(loser?.body.code);
      const after = await call(platform.url, 'GET', `/api/pireps/${id}`, { token: pilotA1.token });
      expect(after.body).toMatchObject({ status: 'approved', version: 2 });
    }
  });

  it('answers 404 for PIREPs the caller may not see, 403 for what they may not do', async () => {
    const created = await call(platform.url, 'POST', '/api/pireps', { token: pilotA1.token, body: report });
    const id = created.body.id;
    for (const outsider of [pilotA2, pilotB]) {
      expect((await call(platform.url, 'GET', `/api/pireps/${id}`, { token: outsider.token })).status).toBe(404);
    }
    const own = await call(platform.url, 'POST', `/api/pireps/${id}/approve`, { token: pilotA1.token, body: {} });
    expect(own).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const amendByAdmin = await call(platform.url, 'PATCH', `/api/pireps/${id}`, {
      token: adminA.token,
      body: { remarks: 'x' },
    });
    expect(amendByAdmin).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const filedByAdmin = await call(platform.url, 'POST', '/api/pireps', { token: adminA.token, body: report });
    expect(filedByAdmin).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const rejectWithout = await call(platform.url, 'POST', `/api/pireps/${id}/reject`, {
      token: adminA.token,
      body: {},
    });
    expect(rejectWithout).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    const stale = await call(platform.url, 'PATCH', `/api/pireps/${id}`, {
      token: pilotA1.token,
      body: { remarks: 'y' },
      headers: { 'if-match': '"7"' },
    });
    expect(stale).toMatchObject({ status: 409, body: { code: 'CONCURRENCY_CONFLICT' } });
    const rejected = await call(platform.url, 'POST', `/api/pireps/${id}/reject`, {
      token: adminA.token,
      body: { comment: 'block times do not match the tech log' },
    });
    expect(rejected).toMatchObject({ status: 200, body: { status: 'rejected', reviewed_by: adminA.id } });
    const late = await call(platform.url, 'PATCH', `/api/pireps/${id}`, {
      token: pilotA1.token,
      body: { remarks: 'z' },
    });
    expect(late).toMatchObject({ status: 409, body: { code: 'INVALID_STATE' } });
  });

  it('lists what each role may see', async () => {
    const mine = await call(platform.url, 'GET', '/api/pireps?limit=200', { token: pilotA1.token });
    expect(mine.status).toBe(200);
    expect(mine.body.items.length).toBeGreaterThan(0);
    expect(mine.body.items.every((p: { pilot_id: string }) => p.pilot_id === pilotA1.id)).toBe(true);
    const others = await call(platform.url, 'GET', '/api/pireps', { token: pilotA2.token });
    expect(others.body).toEqual({ items: [], next_cursor: null });
    const foreign = await call(platform.url, 'GET', `/api/pireps?tenant_id=${tenantA}`, { token: pilotB.token });
    expect(foreign.body.items).toEqual([]);
    const admin = await call(platform.url, 'GET', '/api/pireps?limit=1', { token: adminA.token });
    expect(admin.body.items).toHaveLength(1);
    expect(typeof admin.body.next_cursor).toBe('string');
    const next = await call(platform.url, 'GET', `/api/pireps?limit=1&cursor=${admin.body.next_cursor}`, {
      token: adminA.token,
    });
    expect(next.body.items[0].id).not.toBe(admin.body.items[0].id);
  });
});

describe('tenant, user and API-key events in realtime', () => {
  it('go to exactly their channels, match the shared publication schema, and never carry secrets', async () => {
    const rootWs = await connect({ token: root.token });
    const admin = await connect({ token: adminA.token });
    const member = await connect({ token: pilotA2.token });
    const foreign = await connect({ token: pilotB.token });
    expect(await rootWs.subscribe(PLATFORM_TENANTS_CHANNEL, 1)).toBe('ok');
    expect(await admin.subscribe(PLATFORM_TENANTS_CHANNEL, 1)).toBe('FORBIDDEN');
    expect(await admin.subscribe(adminChannel(tenantA), 2)).toBe('ok');

    const created = await call(platform.url, 'POST', '/api/tenants', { token: root.token, body: { name: 'Echo Air' } });
    const tenantEvent = await rootWs.waitFor((f) => f.type === 'event' && f.event_type === 'tenant.created');
    expect(tenantEvent).toMatchObject({
      channel: PLATFORM_TENANTS_CHANNEL,
      payload: { id: created.body.id, name: 'Echo Air' },
    });

    const renamed = await call(platform.url, 'PATCH', `/api/tenants/${tenantA}`, {
      token: root.token,
      body: { name: 'Alpha Airways' },
    });
    expect(renamed.status).toBe(200);
    const seenByMember = await member.waitFor((f) => f.type === 'event' && f.event_type === 'tenant.renamed');
    expect(seenByMember).toMatchObject({
      channel: tenantChannel(tenantA),
      payload: { id: tenantA, name: 'Alpha Airways' },
      meta: { changed_fields: ['name'], user_id: root.id },
    });

    const secret = `pw-${Math.random().toString(36).slice(2)}-${Date.now()}-long-enough`;
    const newUser = await call(platform.url, 'POST', `/api/tenants/${tenantA}/users`, {
      token: adminA.token,
      body: { email: `new-${Date.now()}@example.com`, display_name: 'New Pilot', roles: ['Pilot'], password: secret },
    });
    expect(newUser.status).toBe(201);
    const userEvent = await admin.waitFor((f) => f.type === 'event' && f.event_type === 'user.created');
    expect(userEvent).toMatchObject({
      channel: adminChannel(tenantA),
      payload: { id: newUser.body.id, tenant_id: tenantA, display_name: 'New Pilot', roles: ['Pilot'] },
    });
    // A PlatformAdmin changes the user: the event still reaches that user's tenant's admins.
    await call(platform.url, 'PATCH', `/api/users/${newUser.body.id}`, {
      token: root.token,
      body: { display_name: 'Renamed' },
    });
    const updated = await admin.waitFor((f) => f.type === 'event' && f.event_type === 'user.updated');
    expect(updated).toMatchObject({ payload: { id: newUser.body.id, tenant_id: tenantA, display_name: 'Renamed' } });

    const everything = [rootWs, admin, member, foreign].flatMap((c) => c.events());
    for (const frame of everything) {
      expect(PlatformPublicationSchema.safeParse(frame).success, JSON.stringify(frame)).toBe(true);
      expect(JSON.stringify(frame)).not.toMatch(/password_hash|sha256|scrypt/);
    }
    expect(JSON.stringify(everything)).not.toContain(secret);
    // Nothing of tenant A reached the pilot of tenant B, nothing of the user went to its own channel's strangers.
    expect(foreign.events().filter((f) => JSON.stringify(f).includes(tenantA))).toEqual([]);
    expect(member.events().filter((f) => f.channel === userUpdatesChannel(newUser.body.id))).toEqual([]);
  });
});

describe('revocation', () => {
  it("closes a revoked API key's connection 4003, and only that one", async () => {
    const key = await call(platform.url, 'POST', `/api/users/${pilotA1.id}/apikeys`, {
      token: pilotA1.token,
      body: { name: 'ops tablet' },
    });
    expect(key.status).toBe(201);
    const byKey = await connect({ apiKeyInQuery: key.body.key });
    const byToken = await connect({ token: pilotA1.token });
    const revoked = await call(platform.url, 'DELETE', `/api/users/${pilotA1.id}/apikeys/${key.body.id}`, {
      token: pilotA1.token,
    });
    expect(revoked.status).toBe(204);
    expect(await byKey.closedWith(1000)).toBe(4003);
    expect(byToken.closed).toBeNull();
    await expect(WsClient.open(wsUrl, { apiKeyInQuery: key.body.key })).rejects.toThrow(/401/);
    // Its owner saw the key's metadata change on user:{uid}:apikeys, never the key itself.
    const event = await byToken.waitFor((f) => f.type === 'event' && f.event_type === 'apikey.revoked');
    expect(event).toMatchObject({ channel: `user:${pilotA1.id}:apikeys`, payload: { id: key.body.id } });
    expect(JSON.stringify(byToken.frames)).not.toContain(key.body.key);
  });

  it("closes a deactivated user's connections 4003 and keeps them out of admin channels", async () => {
    const doomed = await createUser(platform.url, adminA, tenantA, [Role.TenantAdmin]);
    const client = await connect({ token: doomed.token });
    expect(await client.subscribe(adminChannel(tenantA), 1)).toBe('ok');
    const answer = await call(platform.url, 'POST', `/api/users/${doomed.id}/deactivate`, { token: adminA.token });
    expect(answer.status).toBe(200);
    expect(await client.closedWith(1000)).toBe(4003);
    // Their access token has not expired, but it no longer connects.
    await expect(WsClient.open(wsUrl, { token: doomed.token })).rejects.toThrow(/401/);
  });

  it("closes a suspended tenant's connections 4003 and refuses its unexpired tokens until reactivated", async () => {
    const scratch = await createTenant(platform.url, root, 'Delta Sky');
    const member = await createUser(platform.url, root, scratch, [Role.Pilot]);
    const client = await connect({ token: member.token });
    const outsider = await connect({ token: pilotA2.token });
    expect((await call(platform.url, 'POST', `/api/tenants/${scratch}/suspend`, { token: root.token })).status).toBe(
      200,
    );
    expect(await client.closedWith(1000)).toBe(4003);
    expect(outsider.closed).toBeNull();
    await expect(WsClient.open(wsUrl, { token: member.token })).rejects.toThrow(/401/);
    expect((await call(platform.url, 'POST', `/api/tenants/${scratch}/reactivate`, { token: root.token })).status).toBe(
      200,
    );
    clients.push(await WsClient.open(wsUrl, { token: member.token }));
  });
});
