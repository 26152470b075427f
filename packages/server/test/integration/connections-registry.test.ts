import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, get, signToken, TestClient, useGateways } from '../support/harness.js';

const env = useGateways();

async function authed(url: string, claims: Parameters<typeof signToken>[0] = {}): Promise<TestClient> {
  const { client } = await TestClient.authed(url, await signToken(claims));
  return env.track(client);
}

describe('gateway.connections (public connection registry)', () => {
  it('lists what GET /api/connections lists, filtered by tenant and user, paged by cursor', async () => {
    const g = await env.start();
    await authed(g.wsUrl, { sub: 'u1', tenant_id: 't1' });
    await authed(g.wsUrl, { sub: 'u2', tenant_id: 't1' });
    await authed(g.wsUrl, { sub: 'u3', tenant_id: 't2' });

    const all = g.gateway.connections();
    expect(all.connections.map((c) => [c.tenant_id, c.user_id, c.state, c.credential])).toEqual([
      ['t1', 'u1', 'open', 'jwt'],
      ['t1', 'u2', 'open', 'jwt'],
      ['t2', 'u3', 'open', 'jwt'],
    ]);
    expect(all.next_cursor).toBeNull();
    const viaHttp = await get(g.httpUrl, '/api/connections', ADMIN_KEY);
    expect(viaHttp.body).toEqual(all);

    expect(g.gateway.connections({ tenant_id: 't1' }).connections.map((c) => c.user_id)).toEqual(['u1', 'u2']);
    expect(g.gateway.connections({ tenant_id: 't1', user_id: 'u2' }).connections.map((c) => c.user_id)).toEqual(['u2']);
    expect(g.gateway.connections({ tenant_id: 't2', user_id: 'u1' }).connections).toEqual([]);

    const first = g.gateway.connections({ limit: 2 });
    expect(first.connections.map((c) => c.user_id)).toEqual(['u1', 'u2']);
    expect(first.next_cursor).not.toBeNull();
    const second = g.gateway.connections({ limit: 2, cursor: first.next_cursor ?? '' });
    expect(second.connections.map((c) => c.user_id)).toEqual(['u3']);
    expect(second.next_cursor).toBeNull();
  });

  it('refuses a bad limit or cursor with INVALID_MESSAGE', async () => {
    const g = await env.start();
    for (const filter of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { cursor: 'abc' }, { cursor: '-1' }]) {
      expect(() => g.gateway.connections(filter), JSON.stringify(filter)).toThrow(
        expect.objectContaining({ code: 'INVALID_MESSAGE' }),
      );
    }
  });

  it('disconnect({connection_id}) closes exactly that connection with 4003', async () => {
    const g = await env.start();
    const a = await authed(g.wsUrl, { sub: 'u1', tenant_id: 't1' });
    const b = await authed(g.wsUrl, { sub: 'u1', tenant_id: 't1' });
    const [target] = g.gateway.connections({ user_id: 'u1', limit: 1 }).connections;
    expect(target).toBeDefined();
    expect(await g.gateway.disconnect({ connection_id: target?.connection_id ?? '' })).toBe(1);
    expect((await a.waitClose()).code).toBe(4003);
    // The other connection of the same user stays open and usable.
    await b.sync();
    expect(b.closed).toBeNull();
    expect(g.gateway.connections().connections.map((c) => c.connection_id)).not.toContain(target?.connection_id);
    await expect(g.gateway.disconnect({ connection_id: '' })).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
  });
});
