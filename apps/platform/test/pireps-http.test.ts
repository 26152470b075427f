import type { Pirep, Tenant } from '@albatross/platform-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createTenant, createUserAndLogin, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * The PIREP endpoints one by one, with good and bad input: every refusal is
 * 400 `INVALID_MESSAGE` (or the documented 409/403/404), nothing is written
 * by a refused request.
 */

const valid = {
  flight_number: 'LH400',
  aircraft: 'D-ABYA',
  departure: 'EDDF',
  arrival: 'KJFK',
  block_off: '2026-11-30T10:00:00Z',
  block_on: '2026-11-30T18:45:00Z',
};

let t: TestPlatform;
let tenant: Tenant;
let pilot: Api;
let admin: Api;

beforeAll(async () => {
  t = await startTestPlatform();
  tenant = await createTenant(t.admin);
  pilot = (await createUserAndLogin(t.admin, tenant.id, ['Pilot'])).api;
  admin = (await createUserAndLogin(t.admin, tenant.id, ['TenantAdmin'])).api;
});
afterAll(async () => {
  await t?.close();
});

const count = async () => (await admin.get<{ items: Pirep[] }>('/api/pireps?limit=200')).body.items.length;

describe('POST /api/pireps', () => {
  it('files a valid report: 201 with status, pilot, tenant, ETag and normalised instants', async () => {
    const answer = await pilot.post<Pirep>('/api/pireps', { ...valid, block_off: '2026-11-30T11:00:00+01:00' });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      status: 'submitted',
      tenant_id: tenant.id,
      version: 1,
      block_off: '2026-11-30T10:00:00.000Z',
      remarks: null,
      reviewed_by: null,
    });
    expect(answer.headers.get('etag')).toBe('"1"');
  });

  it('refuses bad input with 400 INVALID_MESSAGE and writes nothing', async () => {
    const before = await count();
    const cases: Record<string, unknown> = {
      'unknown field': { ...valid, status: 'approved' },
      'pilot_id is not the caller’s to set': { ...valid, pilot_id: 'someone-else' },
      'missing field': { ...valid, arrival: undefined },
      'wrong type': { ...valid, flight_number: 1234 },
      null: { ...valid, remarks: null },
      'lower-case ICAO': { ...valid, departure: 'eddf' },
      'three-letter code': { ...valid, arrival: 'JFK' },
      'five-letter code': { ...valid, arrival: 'KJFKX' },
      'digits in ICAO': { ...valid, arrival: 'K1FK' },
      'block_on before block_off': { ...valid, block_on: '2026-11-30T09:59:59Z' },
      'block_on equal to block_off': { ...valid, block_on: valid.block_off },
      'more than 24 h': { ...valid, block_on: '2026-12-01T10:00:01Z' },
      'not an instant': { ...valid, block_off: 'yesterday' },
      'no offset': { ...valid, block_off: '2026-11-30T10:00:00' },
      'oversize remarks': { ...valid, remarks: 'x'.repeat(2001) },
      'oversize aircraft': { ...valid, aircraft: 'D-'.padEnd(17, 'A') },
      'control character': { ...valid, remarks: 'nul \u0000 inside' },
      'array body': [valid],
    };
    for (const [what, body] of Object.entries(cases)) {
      const answer = await pilot.post('/api/pireps', body);
      expect(answer, what).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    }
    const oversize = await pilot.post('/api/pireps', { ...valid, remarks: 'x'.repeat(200_000) });
    expect(oversize.status).toBe(413);
    expect(await count()).toBe(before);
  });
});

describe('PATCH /api/pireps/{id}', () => {
  it('amends while submitted, checks merged block times, honours If-Match', async () => {
    const filed = (await pilot.post<Pirep>('/api/pireps', valid)).body;
    const stale = await pilot.patch(`/api/pireps/${filed.id}`, { remarks: 'a' }, { 'if-match': '"2"' });
    expect(stale).toMatchObject({ status: 409, body: { code: 'CONCURRENCY_CONFLICT' } });
    const badIfMatch = await pilot.patch(`/api/pireps/${filed.id}`, { remarks: 'a' }, { 'if-match': 'yesterday' });
    expect(badIfMatch).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    // Alone each value is fine; merged with the stored block_off it is not.
    const merged = await pilot.patch(`/api/pireps/${filed.id}`, { block_on: '2026-11-30T09:00:00Z' });
    expect(merged).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    for (const body of [{}, { status: 'approved' }, { departure: 'XX' }, { remarks: 7 }]) {
      expect((await pilot.patch(`/api/pireps/${filed.id}`, body)).status, JSON.stringify(body)).toBe(400);
    }
    const ok = await pilot.patch<Pirep>(`/api/pireps/${filed.id}`, { arrival: 'KEWR' }, { 'if-match': '"1"' });
    expect(ok).toMatchObject({ status: 200, body: { arrival: 'KEWR', version: 2 } });
    // Nothing changes: no new version.
    const same = await pilot.patch<Pirep>(`/api/pireps/${filed.id}`, { arrival: 'KEWR' });
    expect(same.body.version).toBe(2);
    expect((await pilot.patch('/api/pireps/no-such-pirep', { remarks: 'a' })).status).toBe(404);
  });
});

describe('approve and reject', () => {
  it('validates bodies and the life cycle', async () => {
    const filed = (await pilot.post<Pirep>('/api/pireps', valid)).body;
    for (const body of [{ comment: '' }, { comment: '   ' }, { comment: 5 }, { verdict: 'ok' }]) {
      expect((await admin.post(`/api/pireps/${filed.id}/approve`, body)).status, JSON.stringify(body)).toBe(400);
    }
    for (const body of [{}, { comment: '' }, { comment: 'x'.repeat(2001) }]) {
      expect((await admin.post(`/api/pireps/${filed.id}/reject`, body)).status, JSON.stringify(body)).toBe(400);
    }
    const approved = await admin.post<Pirep>(`/api/pireps/${filed.id}/approve`);
    expect(approved).toMatchObject({ status: 200, body: { status: 'approved', review_comment: null } });
    const again = await admin.post(`/api/pireps/${filed.id}/reject`, { comment: 'changed my mind' });
    expect(again).toMatchObject({ status: 409, body: { code: 'INVALID_STATE' } });
  });
});

describe('GET /api/pireps', () => {
  it('refuses bad queries with 400', async () => {
    for (const query of ['status=bogus', 'limit=0', 'limit=201', 'limit=x', 'cursor=not-a-cursor', 'color=red']) {
      const answer = await admin.get(`/api/pireps?${query}`);
      expect(answer, query).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    }
  });

  it('filters by status and pages without loss or duplicates', async () => {
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Pirep[]; next_cursor: string | null } } = await admin.get(
        `/api/pireps?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      for (const item of page.body.items) {
        expect(ids.has(item.id)).toBe(false);
        ids.add(item.id);
      }
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    expect(ids.size).toBe(await count());
    const approved = await admin.get<{ items: Pirep[] }>('/api/pireps?status=approved');
    expect(approved.body.items.length).toBeGreaterThan(0);
    expect(approved.body.items.every((p) => p.status === 'approved')).toBe(true);
  });
});
