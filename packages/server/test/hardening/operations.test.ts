import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StaticApiKeyVerifier } from '../../src/auth/api-keys.js';
import { MemoryBroker } from '../../src/broker/memory.js';
import type { Broker } from '../../src/broker/types.js';
import { createLogger } from '../../src/log/logger.js';
import {
  ADMIN_KEY,
  get,
  post,
  type Running,
  randomSecret,
  signToken,
  startGateway,
  TestClient,
  UpgradeRefused,
} from '../support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('revocation', () => {
  it('POST /api/disconnect closes every match with 4003 (filters AND-ed) and answers the count', async () => {
    running = await startGateway();
    const u1a = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u1', tenant_id: 't1' }));
    const u1b = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u1', tenant_id: 't1' }));
    const u2 = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u2', tenant_id: 't1' }));
    const other = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u3', tenant_id: 't2' }));

    expect(await post(running.httpUrl, '/api/disconnect', {})).toMatchObject({
      status: 400,
      body: { code: 'INVALID_MESSAGE' },
    });
    expect((await post(running.httpUrl, '/api/disconnect', { user_id: 'u1' }, 'wrong')).status).toBe(401);
    // AND: user u1 in tenant t2 matches nobody.
    expect(await post(running.httpUrl, '/api/disconnect', { user_id: 'u1', tenant_id: 't2' })).toMatchObject({
      status: 200,
      body: { disconnected: 0 },
    });
    expect(await post(running.httpUrl, '/api/disconnect', { user_id: 'u1', tenant_id: 't1' })).toMatchObject({
      status: 200,
      body: { disconnected: 2 },
    });
    // At once, not spread like a drain: by the time the answer is out both
    // connections are closing (an order of events, not a wall-clock bound).
    const rows = await get(running.httpUrl, '/api/connections?user_id=u1');
    for (const row of (rows.body as { connections: Array<{ state: string }> }).connections) {
      expect(row.state).toBe('closed');
    }
    for (const { client } of [u1a, u1b]) {
      expect(await client.next('error')).toMatchObject({ code: 'FORBIDDEN' });
      expect((await client.waitClose()).code).toBe(4003);
    }
    // Nobody else was touched.
    for (const { client } of [u2, other]) {
      client.send({ type: 'ping', id: 1 });
      expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
    }
    expect(await post(running.httpUrl, '/api/disconnect', { tenant_id: 't2' })).toMatchObject({
      body: { disconnected: 1 },
    });
  });

  it("the ApiKeyVerifier's revocation hook closes that key's connections with 4003", async () => {
    const verifier = new StaticApiKeyVerifier([
      { id: 'k1', sha256: sha256('key-one-secret'), sub: 'svc-1', tenant_id: 't1' },
      { id: 'k2', sha256: sha256('key-two-secret'), sub: 'svc-2', tenant_id: 't1' },
    ]);
    running = await startGateway({ auth: { apiKeys: verifier } });
    const k1 = await TestClient.connect(`${running.wsUrl}?api_key=key-one-secret`);
    await k1.next('welcome');
    const k2 = await TestClient.connect(running.wsUrl, { authorization: 'Bearer key-two-secret' });
    await k2.next('welcome');
    expect(verifier.revoke('k1')).toBe(true);
    expect((await k1.waitClose(1000)).code).toBe(4003);
    k2.send({ type: 'ping', id: 2 });
    expect(await k2.next('pong')).toEqual({ type: 'pong', id: 2 });
    // The revoked key no longer authenticates.
    const again = await TestClient.connect(`${running.wsUrl}?api_key=key-one-secret`).catch((e: unknown) => e);
    expect((again as { status: number }).status).toBe(401);
  });
});

describe('graceful drain', () => {
  it('turns /ready to 503 first, refuses upgrades, then closes everyone 1001 with reconnect_after_ms within the window', async () => {
    running = await startGateway();
    const clients = await Promise.all(
      Array.from(
        { length: 5 },
        async (_, i) => (await TestClient.authed(running?.wsUrl ?? '', await signToken({ sub: `u${i}` }))).client,
      ),
    );
    expect((await get(running.httpUrl, '/ready', null)).status).toBe(200);
    const draining = running.gateway.drain(400);
    expect((await get(running.httpUrl, '/ready', null)).status).toBe(503);
    const refused = await TestClient.connect(running.wsUrl).catch((e: unknown) => e);
    expect((refused as { status: number }).status).toBe(503);
    const closes = await Promise.all(clients.map((client) => client.waitClose(3000)));
    for (const close of closes) {
      expect(close.code).toBe(1001);
      const reason = JSON.parse(close.reason) as Record<string, unknown>;
      expect(Object.keys(reason)).toEqual(['reconnect_after_ms']);
      expect(reason.reconnect_after_ms).toBeGreaterThanOrEqual(0);
      expect(reason.reconnect_after_ms).toBeLessThanOrEqual(400);
    }
    await draining;
    expect(running.gateway.connectionCount).toBe(0);
  });

  it('scales the window with the connection count: a handful of clients are closed and told to come back at once', async () => {
    running = await startGateway();
    const clients = await Promise.all(
      Array.from(
        { length: 3 },
        async (_, i) => (await TestClient.authed(running?.wsUrl ?? '', await signToken({ sub: `u${i}` }))).client,
      ),
    );
    const started = Date.now();
    const draining = running.gateway.drain(60_000); // a long cap that 3 clients must not wait for
    const closes = await Promise.all(clients.map((client) => client.waitClose(20_000)));
    for (const close of closes) {
      expect(close.code).toBe(1001);
      // 3 connections at 1000/s: a 3 ms window, so no client is told to wait longer.
      expect((JSON.parse(close.reason) as { reconnect_after_ms: number }).reconnect_after_ms).toBeLessThanOrEqual(3);
    }
    await draining;
    expect(Date.now() - started).toBeLessThan(20_000); // far from the 60 s cap, whatever the machine's load
  });

  it('answers 503 once drained, until its owner closes the server: no request or upgrade is left hanging', async () => {
    running = await startGateway();
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    // The drain can end (every client gone, the gateway stopped) before a
    // probe or a late upgrade arrives; the server it served still listens.
    await running.gateway.drain(0);
    expect((await client.waitClose()).code).toBe(1001);
    const bounded = { signal: AbortSignal.timeout(5000) };
    const ready = await fetch(`${running.httpUrl}/ready`, bounded);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'UNAVAILABLE' });
    const publish = await fetch(`${running.httpUrl}/api/publish`, {
      ...bounded,
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'user:u1:updates', event_type: 'e', payload: 1 }),
    });
    expect(publish.status).toBe(503);
    const refused = await Promise.race([
      TestClient.connect(running.wsUrl).catch((e: unknown) => e),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 5000)),
    ]);
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).status).toBe(503);
  });

  it('delivers what was queued before the close frame', async () => {
    running = await startGateway();
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    for (let i = 0; i < 50; i++)
      await running.gateway.publish({ channel: 'user:u1:updates', event_type: 'e', payload: i });
    await running.gateway.drain(0);
    await client.waitClose();
    const offsets = client.frames.filter((f) => f.type === 'event').map((f) => (f.type === 'event' ? f.offset : 0));
    expect(offsets).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

describe('observability', () => {
  it('exposes albatross_ metrics that move with traffic, with no channel or user label', async () => {
    running = await startGateway();
    const { client } = await TestClient.authed(running.wsUrl, await signToken({ sub: 'user-secret-id' }));
    await running.gateway.publish({ channel: 'user:user-secret-id:updates', event_type: 'e', payload: 1 });
    await client.next('event');
    client.send({ type: 'ping', id: 1 });
    await client.next('pong');
    const res = await fetch(`${running.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const families = new Set(
      text
        .split('\n')
        .filter((line) => line.startsWith('# TYPE '))
        .map((line) => line.split(' ')[2] ?? ''),
    );
    for (const family of families) expect(family.startsWith('albatross_')).toBe(true);
    for (const required of [
      'albatross_connections',
      'albatross_connects_total',
      'albatross_disconnects_total',
      'albatross_subscriptions',
      'albatross_frames_in_total',
      'albatross_frames_out_total',
      'albatross_publications_total',
      'albatross_deliveries_total',
      'albatross_bytes_out_total',
      'albatross_slow_consumer_closes_total',
      'albatross_rate_limited_total',
      'albatross_auth_failures_total',
      'albatross_publish_to_send_seconds',
      'albatross_event_loop_lag_p99_seconds',
    ]) {
      expect(families, required).toContain(required);
    }
    expect(text).toMatch(/^albatross_deliveries_total 1$/m);
    expect(text).toMatch(/^albatross_connections\{state="open"\} 1$/m);
    expect(text).toMatch(/^albatross_frames_in_total\{type="ping"\} 1$/m);
    expect(text).toMatch(/^albatross_subscriptions 3$/m);
    expect(text).not.toContain('user-secret-id');
    expect(text).not.toContain('tenant=');
  });

  it('close codes a client chooses (3000-4999) become one label, not one label each', async () => {
    running = await startGateway();
    const codes = [3000, 3333, 4000, 4321, 4999];
    for (const code of codes) {
      const { client } = await TestClient.authed(running.wsUrl, await signToken());
      client.ws.close(code);
      await client.waitClose();
    }
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    client.close();
    await client.waitClose();
    await vi.waitFor(() => expect(running?.gateway.connectionCount).toBe(0), { timeout: 10_000, interval: 10 });
    const lines = (await running.gateway.metrics())
      .split('\n')
      .filter((line) => line.startsWith('albatross_disconnects_total{'));
    expect(lines.sort()).toEqual([
      'albatross_disconnects_total{code="1005"} 1', // a close without a code
      `albatross_disconnects_total{code="other"} ${codes.length}`,
    ]);
  });

  it('adds the tenant label only with metricsTenantLabel', async () => {
    running = await startGateway({ metricsTenantLabel: true });
    await TestClient.authed(running.wsUrl, await signToken({ tenant_id: 'acme' }));
    const text = await (await fetch(`${running.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^albatross_tenant_connections\{tenant="acme"\} 1$/m);
  });

  it('/health reports each check and answers 503 when the broker is down', async () => {
    running = await startGateway();
    const ok = await get(running.httpUrl, '/health', null);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      status: 'ok',
      checks: { broker: { status: 'ok' }, history: { status: 'ok' }, event_loop: { status: 'ok' } },
    });
    await running.close();
    const broken: Broker = Object.assign(new MemoryBroker(), { health: async () => ({ status: 'down' as const }) });
    running = await startGateway({ broker: broken });
    const down = await get(running.httpUrl, '/health', null);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'down', checks: { broker: { status: 'down' } } });
    expect((await get(running.httpUrl, '/ready', null)).status).toBe(503);
    expect((await get(running.httpUrl, '/live', null)).status).toBe(200);
  });

  it('lists connections for operators, filtered and paged', async () => {
    running = await startGateway();
    for (let i = 0; i < 5; i++)
      await TestClient.authed(running.wsUrl, await signToken({ sub: `u${i}`, tenant_id: i < 3 ? 't1' : 't2' }));
    expect((await get(running.httpUrl, '/api/connections', null)).status).toBe(401);
    const page1 = await get(running.httpUrl, '/api/connections?tenant_id=t1&limit=2');
    const body1 = page1.body as { connections: Array<Record<string, unknown>>; next_cursor: string | null };
    expect(body1.connections).toHaveLength(2);
    expect(body1.connections[0]).toMatchObject({ tenant_id: 't1', user_id: 'u0', subscriptions: 3, state: 'open' });
    expect(typeof body1.connections[0]?.connected_at).toBe('string');
    expect(typeof body1.connections[0]?.buffered_bytes).toBe('number');
    expect(body1.next_cursor).not.toBeNull();
    const page2 = await get(running.httpUrl, `/api/connections?tenant_id=t1&limit=2&cursor=${body1.next_cursor}`);
    const body2 = page2.body as { connections: Array<Record<string, unknown>>; next_cursor: string | null };
    expect(body2.connections.map((c) => c.user_id)).toEqual(['u2']);
    expect(body2.next_cursor).toBeNull();
    const byUser = await get(running.httpUrl, '/api/connections?user_id=u4');
    expect((byUser.body as { connections: unknown[] }).connections).toHaveLength(1);
    expect((await get(running.httpUrl, '/api/connections?limit=0')).status).toBe(400);
  });

  it('never writes tokens, API keys or query credentials to the log', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ level: 'debug', destination });
    const apiKey = randomSecret('api-key');
    running = await startGateway({
      logger,
      auth: {
        jwt: { secret: 'test-secret-0123456789abcdef' },
        apiKeys: new StaticApiKeyVerifier([{ id: 'k1', sha256: sha256(apiKey), sub: 'svc', tenant_id: 't1' }]),
      },
    });
    const badJwt = `${await signToken({}, 'another-secret-0123456789')}`;
    await TestClient.connect(`${running.wsUrl}?access_token=${badJwt}`).catch(() => undefined);
    await TestClient.connect(`${running.wsUrl}?api_key=wrong-${apiKey}`).catch(() => undefined);
    await TestClient.connect(running.wsUrl, { authorization: `Bearer nope-${apiKey}` }).catch(() => undefined);
    const ok = await TestClient.connect(`${running.wsUrl}?api_key=${apiKey}`);
    await ok.next('welcome');
    const good = await signToken({ sub: 'u-logged' });
    const { client } = await TestClient.authed(running.wsUrl, good);
    client.send({ type: 'auth', token: good, id: 3 });
    await client.next('ack');
    await post(running.httpUrl, '/api/publish', { channel: 'bad channel', event_type: 'e', payload: 1 });
    await running.gateway.drain(0);
    running = null;
    const text = lines.join('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const secret of [apiKey, badJwt, good, ADMIN_KEY, badJwt.split('.')[2] ?? 'x']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    // Lines about an authenticated connection carry its ids.
    const about = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.user_id === 'u-logged');
    expect(about.length).toBeGreaterThan(0);
    for (const line of about) {
      expect(line.connection_id).toEqual(expect.any(String));
      expect(line.tenant_id).toBe('t1');
    }
  });
});
