import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { originRefusal } from '../../src/http/origin.js';
import { type Running, signToken, startGateway, TestClient, UpgradeRefused } from '../support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

describe('rate limit', () => {
  it('answers RATE_LIMITED with retry_after_ms past the burst, and recovers as tokens refill', async () => {
    // The bucket's clock is faked (sockets and timers stay real): on a busy
    // machine a token could otherwise refill between the auth and the pings.
    const token = await signToken();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      running = await startGateway({ rateLimit: { burst: 3, perMs: 300 } });
      const { client } = await TestClient.authed(running.wsUrl, token);
      // The auth frame spent one token: two pings pass, the third is refused.
      for (let i = 1; i <= 3; i++) client.send({ type: 'ping', id: i });
      expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
      expect(await client.next('pong')).toEqual({ type: 'pong', id: 2 });
      const limited = await client.next('error');
      expect(limited.code).toBe('RATE_LIMITED');
      expect(limited.retry_after_ms).toBe(100);
      // Just before the advertised wait a frame is still refused; after it, accepted.
      vi.setSystemTime(Date.now() + 99);
      client.send({ type: 'ping', id: 8 });
      expect(await client.next('error')).toMatchObject({ code: 'RATE_LIMITED', id: 8 });
      vi.setSystemTime(Date.now() + 11);
      client.send({ type: 'ping', id: 9 });
      expect(await client.next('pong')).toEqual({ type: 'pong', id: 9 });
      expect(client.closed).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes 4008 at the 2x-burst-th refused frame in a row, after answering it', async () => {
    running = await startGateway({ rateLimit: { burst: 2, perMs: 60_000 } });
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    // One token left after auth; then 4 refused frames (2 x burst) close the connection.
    for (let i = 1; i <= 6; i++) client.send({ type: 'ping', id: i });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
    for (let i = 0; i < 4; i++) expect((await client.next('error')).code).toBe('RATE_LIMITED');
    const closed = await client.waitClose();
    expect(closed.code).toBe(4008);
    // The sixth frame was never answered.
    expect(client.frames).toEqual([]);
  });

  it('counts frames before authentication too', async () => {
    running = await startGateway({ rateLimit: { burst: 1, perMs: 60_000 } });
    const client = await TestClient.connect(running.wsUrl);
    client.send({ type: 'auth', token: await signToken() });
    client.send({ type: 'ping', id: 1 });
    expect((await client.next('welcome')).type).toBe('welcome');
    expect((await client.next('error')).code).toBe('RATE_LIMITED');
  });
});

describe('subscription cap', () => {
  it('accepts in order up to the cap (baseline included) and rejects the rest with SUBSCRIPTION_LIMIT', async () => {
    running = await startGateway({ maxSubscriptions: 5 });
    const { client, welcome } = await TestClient.authed(running.wsUrl, await signToken());
    expect(welcome.type === 'welcome' && welcome.subscriptions).toHaveLength(3);
    client.send({ type: 'subscribe', id: 1, channels: ['tenant:t1:a', 'tenant:t1:b', 'tenant:t1:c', 'tenant:t1:d'] });
    const ack = await client.next('ack');
    expect(ack).toMatchObject({
      id: 1,
      accepted: [{ channel: 'tenant:t1:a' }, { channel: 'tenant:t1:b' }],
      rejected: [
        { channel: 'tenant:t1:c', code: 'SUBSCRIPTION_LIMIT' },
        { channel: 'tenant:t1:d', code: 'SUBSCRIPTION_LIMIT' },
      ],
    });
    // Re-subscribing a held channel does not count again.
    client.send({ type: 'subscribe', id: 2, channels: ['tenant:t1:a'] });
    expect(await client.next('ack')).toMatchObject({ id: 2, accepted: [{ channel: 'tenant:t1:a' }], rejected: [] });
    // Nothing is delivered for a rejected channel.
    await running.gateway.publish({ channel: 'tenant:t1:c', event_type: 'x', payload: 1 });
    expect(await client.quiet()).toEqual([]);
  });

  it('rejects a subscribe naming more channels than one frame may carry', async () => {
    running = await startGateway();
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    client.send({ type: 'subscribe', id: 7, channels: Array.from({ length: 300 }, (_, i) => `tenant:t1:c${i}`) });
    expect(await client.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', id: 7 });
    client.send({ type: 'ping', id: 8 });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 8 });
  });
});

describe('connection limits', () => {
  it('refuses the per-user limit with 429 on the upgrade and counts a closed connection out', async () => {
    running = await startGateway({ maxConnectionsPerUser: 2 });
    const token = await signToken();
    const headers = { authorization: `Bearer ${token}` };
    const a = await TestClient.connect(running.wsUrl, headers);
    await a.next('welcome');
    const b = await TestClient.connect(running.wsUrl, headers);
    await b.next('welcome');
    const refused = await TestClient.connect(running.wsUrl, headers).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).status).toBe(429);
    expect(JSON.parse((refused as UpgradeRefused).body)).toMatchObject({ code: 'CONNECTION_LIMIT' });
    // Another user of the same tenant is not affected.
    const other = await TestClient.connect(running.wsUrl, {
      authorization: `Bearer ${await signToken({ sub: 'u2' })}`,
    });
    await other.next('welcome');
    a.close();
    await a.waitClose();
    await waitFor(() => running?.gateway.connectionCount === 2);
    const c = await TestClient.connect(running.wsUrl, headers);
    expect((await c.next('welcome')).type).toBe('welcome');
  });

  it('closes 4029 when a first-frame auth exceeds the per-tenant limit', async () => {
    running = await startGateway({ maxConnectionsPerTenant: 1 });
    const first = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u1' }));
    expect(first.welcome.type).toBe('welcome');
    const client = await TestClient.connect(running.wsUrl);
    client.send({ type: 'auth', token: await signToken({ sub: 'u2' }) });
    expect(await client.next('error')).toMatchObject({ code: 'CONNECTION_LIMIT' });
    expect((await client.waitClose()).code).toBe(4029);
    // Other tenants still connect.
    const t2 = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u3', tenant_id: 't2' }));
    expect(t2.welcome.type).toBe('welcome');
  });

  it('refuses upgrades over the global cap with 429, authenticated or not', async () => {
    running = await startGateway({ maxConnections: 1 });
    const a = await TestClient.connect(running.wsUrl);
    const refused = await TestClient.connect(running.wsUrl).catch((error: unknown) => error);
    expect((refused as UpgradeRefused).status).toBe(429);
    a.close();
  });
});

describe('origin allowlist', () => {
  it('refuses a browser upgrade from an origin not on the list with a close reason naming it and the setting, and allows listed and origin-less ones', async () => {
    running = await startGateway({ allowedOrigins: ['https://app.example.com'] });
    const bad = await TestClient.connect(running.wsUrl, { origin: 'https://evil.example.net' });
    // What a browser page can read: the close code and reason (an HTTP 403 would show as a bare 1006).
    expect(await bad.waitClose()).toEqual({
      code: 4003,
      reason: 'origin https://evil.example.net is not allowed: add it to --allowed-origins',
    });
    expect(bad.frames).toEqual([]); // nothing is served on it
    expect(running.gateway.connectionCount).toBe(0);
    const good = await TestClient.connect(running.wsUrl, { origin: 'https://app.example.com' });
    good.close();
    const none = await TestClient.connect(running.wsUrl);
    none.close();
  });

  it('allows only same-origin in production when the list is empty', async () => {
    running = await startGateway({ production: true });
    const port = running.port;
    const cross = await TestClient.connect(running.wsUrl, { origin: 'http://localhost:1' });
    expect((await cross.waitClose()).reason).toBe(
      'origin http://localhost:1 is not allowed: add it to --allowed-origins',
    );
    const same = await TestClient.connect(running.wsUrl, { origin: `http://127.0.0.1:${port}` });
    same.close();
  });
});

describe('origin refusal reason', () => {
  it('fits a close frame whatever the origin, and names the setting', () => {
    const long = `https://${'a'.repeat(300)}.example.com`;
    const reason = originRefusal(long);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/^origin https:\/\/a+\.\.\. is not allowed: add it to --allowed-origins$/);
    expect(originRefusal('http://ü.example')).toBe(
      'origin http://?.example is not allowed: add it to --allowed-origins',
    );
  });
});

describe('frame size', () => {
  it('with permessage-deflate on, bounds the inflated size (no decompression bomb)', async () => {
    running = await startGateway({ perMessageDeflate: true, maxFrameBytes: 4096 });
    const ws = new WebSocket(running.wsUrl, { perMessageDeflate: true });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    expect(ws.extensions).toContain('permessage-deflate');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => {});
    // ~100 KiB of one repeated byte compresses to a few hundred bytes on the wire.
    ws.send(JSON.stringify({ type: 'ping', pad: 'a'.repeat(100_000) }));
    expect(await closed).toBe(1009);
  });
});

describe('idle connections', () => {
  it('pings a silent peer and destroys it when it never answers', async () => {
    // Pings start after 1 s of silence: the healthy client has 2 s to answer, room for a busy machine.
    running = await startGateway({ idleTimeoutMs: 3000 });
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    const healthy = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u2' }));
    // A half-open peer: its socket no longer reads, so pings go unanswered.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor(() => running?.gateway.connectionCount === 1, 15_000);
    // The healthy client answered pings (ws does so automatically) and is still there.
    expect(healthy.client.closed).toBeNull();
    healthy.client.send({ type: 'ping', id: 1 });
    expect(await healthy.client.next('pong')).toEqual({ type: 'pong', id: 1 });
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
