import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createCommandHandler,
  createProjectionRunner,
  openEventStore,
  type ProjectionRunner,
  type SqlEventStore,
  waitForProjections,
} from '@albatross/cqrs';
import { adminChannel, pirepChannel, Role } from '@albatross/platform-api';
import { createGateway, type Gateway, StaticApiKeyVerifier, silentLogger } from '@albatross/server';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pirepAggregate } from '../src/pireps/aggregate.js';
import { PIREPS_PROJECTION, pirepsProjection, readPirep } from '../src/pireps/projection.js';
import { ensurePlatformTables } from '../src/readmodel/tables.js';
import { createPlatformAuthorizers, type SubscriberRecord } from '../src/realtime/authorizers.js';
import { createPlatformRealtimeProjection } from '../src/realtime/projection.js';
import { createRevocationProjection } from '../src/realtime/revocation.js';

const SECRET = randomBytes(32).toString('hex');
/** An API key of pilot1 (id k1) and one of pilot2 (id k2): long and random. */
const KEY1 = `alb_${randomBytes(24).toString('hex')}`;
const KEY2 = `alb_${randomBytes(24).toString('hex')}`;
const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

const report = (overrides: Record<string, unknown> = {}) => ({
  flight_number: 'AF1234',
  aircraft: 'F-GKXA',
  departure: 'LFPG',
  arrival: 'EGLL',
  block_off: '2026-11-30T08:00:00.000Z',
  block_on: '2026-11-30T09:15:00.000Z',
  ...overrides,
});

let store: SqlEventStore;
beforeAll(async () => {
  store = await openEventStore({ url: 'memory://' });
  await ensurePlatformTables(store); // the read model bumps the query-cache versions kept there
});
afterAll(async () => {
  await store?.close();
});

describe('PIREP aggregate', () => {
  const pireps = () => createCommandHandler(store, pirepAggregate);
  const submit = (id: string, overrides: Record<string, unknown> = {}) =>
    pireps().handle(id, { kind: 'submit', tenant_id: 't1', pilot_id: 'p1', report: report(overrides) });

  it('submits, amends only what changed, and re-checks block times on the merged PIREP', async () => {
    const id = randomUUID();
    const submitted = await submit(id, { remarks: 'smooth' });
    expect(submitted.events.map((e) => e.type)).toEqual(['pirep.submitted']);
    expect(submitted.state).toMatchObject({ exists: true, status: 'submitted', tenantId: 't1', pilotId: 'p1' });

    const amended = await pireps().handle(id, { kind: 'amend', changes: { arrival: 'EGKK', departure: 'LFPG' } });
    expect(amended.events.map((e) => [e.type, e.payload])).toEqual([
      ['pirep.amended', { tenant_id: 't1', pilot_id: 'p1', changes: { arrival: 'EGKK' } }],
    ]);
    // Same values again: no event at all.
    expect((await pireps().handle(id, { kind: 'amend', changes: { arrival: 'EGKK' } })).events).toEqual([]);
    // block_on before the stored block_off: refused, though the body alone is fine.
    await expect(
      pireps().handle(id, { kind: 'amend', changes: { block_on: '2026-11-30T07:00:00.000Z' } }),
    ).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(
      pireps().handle(id, { kind: 'amend', changes: { block_on: '2026-12-01T08:00:01.000Z' } }),
    ).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(submit(id)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('refuses bad reports at the boundary', async () => {
    for (const bad of [
      { departure: 'lfpg' },
      { arrival: 'EGL' },
      { block_on: '2026-11-30T07:59:59.000Z' },
      { block_on: '2026-12-01T08:00:00.001Z' },
      { flight_number: '' },
      { remarks: 'x'.repeat(2001) },
      { unknown: 1 },
    ]) {
      await expect(submit(randomUUID(), bad)).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    }
  });

  it('reviews once: approve or reject (with a comment) only while submitted', async () => {
    const id = randomUUID();
    await submit(id);
    await expect(pireps().handle(id, { kind: 'reject', reviewer_id: 'a1', review: {} })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    const approved = await pireps().handle(id, { kind: 'approve', reviewer_id: 'a1', review: { comment: 'ok' } });
    expect(approved.state).toMatchObject({ status: 'approved', reviewedBy: 'a1', reviewComment: 'ok' });
    for (const command of [
      { kind: 'approve', reviewer_id: 'a1', review: {} },
      { kind: 'reject', reviewer_id: 'a1', review: { comment: 'no' } },
      { kind: 'amend', changes: { remarks: 'late' } },
    ]) {
      await expect(pireps().handle(id, command)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    }
    await expect(
      pireps().handle(randomUUID(), { kind: 'approve', reviewer_id: 'a1', review: {} }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('of two reviews racing, exactly one wins and the other is a 409', async () => {
    for (let round = 0; round < 5; round++) {
      const id = randomUUID();
      await submit(id);
      const outcomes = await Promise.allSettled([
        pireps().handle(id, { kind: 'approve', reviewer_id: 'a1', review: {} }),
        pireps().handle(id, { kind: 'reject', reviewer_id: 'a2', review: { comment: 'no' } }),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o) => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(['INVALID_STATE', 'CONCURRENCY_CONFLICT']).toContain((lost[0] as PromiseRejectedResult).reason.code);
      const events = await store.readStream(`pirep-${id}`);
      expect(events.map((e) => e.type).filter((t) => t !== 'pirep.submitted')).toHaveLength(1);
    }
  });
});

/** A WebSocket client that records every frame. */
class Client {
  readonly frames: Array<Record<string, unknown>> = [];
  closed: number | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data))));
    ws.on('close', (code) => {
      this.closed = code;
    });
  }
  static async open(url: string, token: string): Promise<Client> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.waitFor((f) => f.type === 'welcome');
    return client;
  }
  async waitFor(match: (frame: Record<string, unknown>) => boolean, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame in ${JSON.stringify(this.frames)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  /** Subscribes one channel: `'ok'`, or the code it was refused with. */
  async subscribe(channel: string, id: number): Promise<string> {
    this.ws.send(JSON.stringify({ type: 'subscribe', id, channels: [channel] }));
    const ack = (await this.waitFor((f) => f.id === id && (f.type === 'ack' || f.type === 'error'))) as {
      type: string;
      code?: string;
      accepted?: Array<{ channel: string }>;
      rejected?: Array<{ channel: string; code: string }>;
    };
    this.frames.splice(this.frames.indexOf(ack), 1);
    if (ack.type === 'error') return ack.code ?? 'error';
    if (ack.accepted?.some((a) => a.channel === channel)) return 'ok';
    return ack.rejected?.find((r) => r.channel === channel)?.code ?? 'missing';
  }
  events() {
    return this.frames.filter((f) => f.type === 'event');
  }
}

describe('PIREP events on the gateway', () => {
  let server: http.Server;
  let gateway: Gateway;
  let runner: ProjectionRunner;
  let wsUrl: string;
  const clients: Client[] = [];
  // The users' read model is platform-core's; this test stands in for it with fixed records.
  const users = new Map<string, SubscriberRecord>([
    ['admin1', { id: 'admin1', tenantId: 't1', roles: [Role.TenantAdmin], active: true }],
    ['pilot1', { id: 'pilot1', tenantId: 't1', roles: [Role.Pilot], active: true }],
    ['pilot2', { id: 'pilot2', tenantId: 't1', roles: [Role.Pilot], active: true }],
    ['pilotx', { id: 'pilotx', tenantId: 't2', roles: [Role.Pilot], active: true }],
    ['adminx', { id: 'adminx', tenantId: 't2', roles: [Role.TenantAdmin], active: true }],
    ['root', { id: 'root', tenantId: 'platform', roles: [Role.PlatformAdmin], active: true }],
  ]);

  beforeAll(async () => {
    server = http.createServer();
    gateway = await createGateway({
      server,
      auth: {
        jwt: { secret: SECRET },
        apiKeys: new StaticApiKeyVerifier([
          { id: 'k1', sha256: sha256(KEY1), sub: 'pilot1', tenant_id: 't1', roles: [Role.Pilot] },
          { id: 'k2', sha256: sha256(KEY2), sub: 'pilot2', tenant_id: 't1', roles: [Role.Pilot] },
        ]),
      },
      logger: silentLogger,
      authorizers: createPlatformAuthorizers({
        user: async (id) => users.get(id) ?? null,
        pirepOwner: async (id) => {
          const pirep = await readPirep(store.driver, id);
          return pirep ? { tenantId: pirep.tenant_id, pilotId: pirep.pilot_id } : null;
        },
      }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    wsUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    runner = createProjectionRunner(
      store,
      [
        pirepsProjection,
        createPlatformRealtimeProjection((request) => gateway.publish(request)),
        createRevocationProjection({ disconnect: (filter) => gateway.disconnect(filter), repeatAfterMs: 0 }),
      ],
      { pollIntervalMs: 200 },
    );
    await runner.start();
  });
  afterAll(async () => {
    for (const client of clients) client.ws.terminate();
    await runner?.stop();
    await gateway?.close();
    server?.close();
  });

  const connectWithKey = async (key: string) => {
    const client = await Client.open(wsUrl, key);
    clients.push(client);
    return client;
  };

  const connect = async (sub: string) => {
    const user = users.get(sub) as SubscriberRecord;
    const token = await new SignJWT({ tenant_id: user.tenantId, roles: [...user.roles] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));
    const client = await Client.open(wsUrl, token);
    clients.push(client);
    return client;
  };

  it('reaches the pilot, their tenant admins and pirep:{id} watchers, and nobody else', async () => {
    const admin = await connect('admin1');
    const root = await connect('root');
    const pilot = await connect('pilot1');
    const otherPilot = await connect('pilot2');
    const foreignPilot = await connect('pilotx');
    const foreignAdmin = await connect('adminx');
    expect(await admin.subscribe(adminChannel('t1'), 1)).toBe('ok');
    expect(await root.subscribe(adminChannel('t1'), 1)).toBe('ok');
    for (const outsider of [foreignPilot, foreignAdmin, otherPilot]) {
      expect(await outsider.subscribe(adminChannel('t1'), 1)).toBe('FORBIDDEN');
    }
    expect(await foreignAdmin.subscribe(adminChannel('t2'), 2)).toBe('ok');

    const id = randomUUID();
    const correlationId = randomUUID();
    const result = await createCommandHandler(store, pirepAggregate).handle(
      id,
      { kind: 'submit', tenant_id: 't1', pilot_id: 'pilot1', report: report() },
      { tenantId: 't1', actorId: 'pilot1', correlationId },
    );
    const seen = await admin.waitFor((f) => f.type === 'event' && f.event_type === 'pirep.submitted');
    expect(seen).toMatchObject({
      channel: adminChannel('t1'),
      payload: { id, tenant_id: 't1', pilot_id: 'pilot1', status: 'submitted', departure: 'LFPG', version: 1 },
      meta: { user_id: 'pilot1', correlation_id: correlationId, position: result.position },
    });
    expect((seen.meta as { changed_fields: string[] }).changed_fields).toContain('block_on');
    await root.waitFor((f) => f.type === 'event' && f.channel === adminChannel('t1'));
    await pilot.waitFor((f) => f.type === 'event' && f.channel === 'user:pilot1:updates');

    // pirep:{id}: its pilot, its tenant's admins, PlatformAdmins; not another pilot, not another tenant.
    await waitForProjections(store, [PIREPS_PROJECTION], result.position);
    expect(await pilot.subscribe(pirepChannel(id), 3)).toBe('ok');
    expect(await admin.subscribe(pirepChannel(id), 3)).toBe('ok');
    expect(await root.subscribe(pirepChannel(id), 3)).toBe('ok');
    for (const outsider of [otherPilot, foreignPilot, foreignAdmin]) {
      expect(await outsider.subscribe(pirepChannel(id), 3)).toBe('FORBIDDEN');
    }
    expect(await pilot.subscribe(pirepChannel(randomUUID()), 4)).toBe('FORBIDDEN');

    await createCommandHandler(store, pirepAggregate).handle(
      id,
      { kind: 'approve', reviewer_id: 'admin1', review: {} },
      { tenantId: 't1', actorId: 'admin1' },
    );
    const approved = await pilot.waitFor((f) => f.type === 'event' && f.channel === pirepChannel(id));
    expect(approved).toMatchObject({
      event_type: 'pirep.approved',
      payload: { id, status: 'approved', reviewed_by: 'admin1', version: 2 },
      meta: {
        user_id: 'admin1',
        correlation_id: null,
        changed_fields: ['status', 'review_comment', 'reviewed_by', 'reviewed_at'],
      },
    });
    await admin.waitFor((f) => f.type === 'event' && f.channel === pirepChannel(id));

    // Nothing reached the outsiders, on any channel.
    for (const outsider of [otherPilot, foreignPilot, foreignAdmin]) expect(outsider.events()).toEqual([]);
    // One publication per event and channel: no duplicates.
    const adminEvents = admin.events().filter((f) => f.channel === adminChannel('t1'));
    expect(adminEvents.map((f) => f.event_type)).toEqual(['pirep.submitted', 'pirep.approved']);
  });

  it('closes 4003 the connections of a revoked key, a deactivated user, a suspended tenant, and no others', async () => {
    const waitClosed = async (client: Client) => {
      const deadline = Date.now() + 5000;
      while (client.closed === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return client.closed;
    };
    const append = (stream: string, type: string, payload: Record<string, string>) =>
      store.append(stream, [{ type, payload }], { expectedVersion: 'any', tenantId: 't1', actorId: 'admin1' });

    const key1 = await connectWithKey(KEY1);
    const key2 = await connectWithKey(KEY2);
    const pilot1 = await connect('pilot1');
    await append('user-pilot1', 'user.apikey_revoked', { key_id: 'k1' });
    expect(await waitClosed(key1)).toBe(4003);
    expect(key2.closed).toBeNull();
    expect(pilot1.closed).toBeNull(); // the user's JWT connection is not the key's

    await append('user-pilot1', 'user.deactivated', {});
    expect(await waitClosed(pilot1)).toBe(4003);
    expect(key2.closed).toBeNull();

    const admin = await connect('admin1');
    const foreign = await connect('pilotx');
    await append('tenant-t1', 'tenant.suspended', {});
    expect(await waitClosed(admin)).toBe(4003);
    expect(await waitClosed(key2)).toBe(4003);
    expect(foreign.closed).toBeNull();
  });
});
