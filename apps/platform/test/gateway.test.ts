import type { CreatedApiKey } from '@albatross/platform-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTenant, createUserAndLogin, startTestPlatform, type TestPlatform } from './helpers.js';

/** The gateway attached to the platform's server: platform tokens and API keys open connections; revocation closes them. */

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform({ adminKey: 'admin-key-for-tests-0123456789abcdef' });
});
afterAll(async () => {
  await t?.close();
});

interface Opened {
  ws: WebSocket;
  welcome: Record<string, unknown>;
  closed: Promise<{ code: number }>;
}

function open(path: string, headers: Record<string, string> = {}): Promise<Opened> {
  const ws = new WebSocket(`${t.platform.url.replace('http', 'ws')}${path}`, { headers });
  const closed = new Promise<{ code: number }>((resolve) => ws.on('close', (code) => resolve({ code })));
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      if (frame.type === 'welcome') resolve({ ws, welcome: frame, closed });
    });
  });
}

describe('gateway on the platform server', () => {
  it('accepts a platform access token at /ws and /api/ws, with the identity of its user', async () => {
    const tenant = await createTenant(t.admin);
    const pilot = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    for (const path of ['/ws', '/api/ws']) {
      const { ws, welcome } = await open(path, { authorization: `Bearer ${pilot.tokens.access_token}` });
      expect(welcome).toMatchObject({ user_id: pilot.user.id, tenant_id: tenant.id });
      ws.close();
    }
  });

  it('refuses a bad credential before the upgrade', async () => {
    await expect(
      open('/ws', { authorization: 'Bearer alb_not-a-key-0000000000000000000000000000000' }),
    ).rejects.toThrow(/401/);
  });

  it('closes an API key’s live connection 4003 when the key is revoked, and refuses it afterwards', async () => {
    const tenant = await createTenant(t.admin);
    const pilot = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const key = (await pilot.api.post<CreatedApiKey>(`/api/users/${pilot.user.id}/apikeys`, { name: 'ws' })).body;
    const other = (await pilot.api.post<CreatedApiKey>(`/api/users/${pilot.user.id}/apikeys`, { name: 'kept' })).body;
    const revoked = await open(`/ws?api_key=${key.key}`);
    const kept = await open('/ws', { authorization: `Bearer ${other.key}` });
    expect(revoked.welcome).toMatchObject({ user_id: pilot.user.id });
    expect((await pilot.api.delete(`/api/users/${pilot.user.id}/apikeys/${key.id}`)).status).toBe(204);
    expect((await revoked.closed).code).toBe(4003);
    // The other key's connection stays open.
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    await expect(open(`/ws?api_key=${key.key}`)).rejects.toThrow(/401/);
    kept.ws.close();
  });

  it('closes a user’s connections 4003 when they are deactivated', async () => {
    const tenant = await createTenant(t.admin);
    const pilot = await createUserAndLogin(t.admin, tenant.id, ['Pilot']);
    const live = await open('/ws', { authorization: `Bearer ${pilot.tokens.access_token}` });
    expect((await t.admin.post(`/api/users/${pilot.user.id}/deactivate`)).status).toBe(200);
    expect((await live.closed).code).toBe(4003);
  });

  it('closes every connection of a tenant 4003 when it is suspended, and no other tenant’s', async () => {
    const suspended = await createTenant(t.admin);
    const bystander = await createTenant(t.admin);
    const victim = await createUserAndLogin(t.admin, suspended.id, ['Pilot']);
    const other = await createUserAndLogin(t.admin, bystander.id, ['Pilot']);
    const live = await open('/ws', { authorization: `Bearer ${victim.tokens.access_token}` });
    const safe = await open('/ws', { authorization: `Bearer ${other.tokens.access_token}` });
    expect((await t.admin.post(`/api/tenants/${suspended.id}/suspend`)).status).toBe(200);
    expect((await live.closed).code).toBe(4003);
    expect(safe.ws.readyState).toBe(WebSocket.OPEN);
    safe.ws.close();
  });

  it('serves the gateway’s own HTTP routes beside the API', async () => {
    expect((await t.anon.get('/health')).status).toBe(200);
    const metrics = await fetch(`${t.platform.url}/metrics`, {
      headers: { authorization: 'Bearer admin-key-for-tests-0123456789abcdef' },
    });
    expect(metrics.status).toBe(200);
  });
});
