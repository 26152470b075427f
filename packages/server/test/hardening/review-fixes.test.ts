import { createHash } from 'node:crypto';
import net from 'node:net';
import type { EventFrame } from '@albatross/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ApiKeyVerifier, StaticApiKeyVerifier } from '../../src/auth/api-keys.js';
import type { Identity } from '../../src/auth/identity.js';
import { type Running, signToken, startGateway, TestClient, type UpgradeRefused } from '../support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

/** Sends a raw HTTP request on a fresh socket and resolves with the whole answer. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy());
  });
}

describe('connection counts survive abandoned handshakes', () => {
  it('an upgrade ws refuses after authentication does not keep counting against the tenant', async () => {
    running = await startGateway({ maxConnectionsPerTenant: 1 });
    const token = await signToken({ sub: 'attacker' });
    // Valid credential, but no Sec-WebSocket-Key: ws answers 400 after our checks passed.
    for (let i = 0; i < 3; i++) {
      const answer = await rawRequest(
        running.port,
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
    }
    // Another member of the tenant is not locked out.
    const other = await TestClient.connect(running.wsUrl, {
      authorization: `Bearer ${await signToken({ sub: 'victim' })}`,
    });
    expect((await other.next('welcome')).type).toBe('welcome');
  });

  it('concurrent upgrades cannot overshoot --max-connections', async () => {
    const slowKeys: ApiKeyVerifier = {
      async verify(key) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return key.startsWith('key-')
          ? { userId: key, tenantId: 't1', roles: [], channels: [], credential: { kind: 'api_key', keyId: key } }
          : null;
      },
    };
    running = await startGateway({ maxConnections: 2, auth: { apiKeys: slowKeys } });
    const url = running.wsUrl;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => TestClient.connect(url, { authorization: `Bearer key-${i}` })),
    );
    const opened = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(opened).toHaveLength(2);
    for (const r of refused) expect((r.reason as UpgradeRefused).status).toBe(429);
    expect(running.gateway.connectionCount).toBe(2);
  });
});

describe('rate-limit refusals can be matched to their frame', () => {
  it('echoes the id of the refused frame', async () => {
    running = await startGateway({ rateLimit: { burst: 2, perMs: 60_000 } });
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    client.send({ type: 'ping', id: 1 });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
    // The bucket is empty now; three refusals stay under the 2 x burst close.
    client.send({ type: 'subscribe', id: 3, channels: ['tenant:t1:x'] });
    client.send({ id: 4, type: 'ping' });
    client.send('{"type":"ping"}');
    expect(await client.next('error')).toMatchObject({ code: 'RATE_LIMITED', id: 3 });
    expect(await client.next('error')).toMatchObject({ code: 'RATE_LIMITED', id: 4 });
    const third = await client.next('error');
    expect(third.code).toBe('RATE_LIMITED');
    expect(third.id).toBeUndefined();
  });
});

describe('revocation racing authentication', () => {
  it('a key revoked while its verification is in flight never gets a connection', async () => {
    const sha = createHash('sha256').update('slow-key-secret').digest('hex');
    const inner = new StaticApiKeyVerifier([{ id: 'k1', sha256: sha, sub: 'svc', tenant_id: 't1' }]);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inFlight = 0;
    const verifier: ApiKeyVerifier = {
      async verify(key): Promise<Identity | null> {
        const identity = await inner.verify(key);
        inFlight += 1;
        await gate; // the key is revoked while we wait here
        return identity;
      },
      onRevoke: (listener) => inner.onRevoke(listener),
    };
    running = await startGateway({ auth: { apiKeys: verifier } });
    // Upgrade path.
    const upgrading = TestClient.connect(running.wsUrl, { authorization: 'Bearer slow-key-secret' }).catch(
      (e: unknown) => e,
    );
    // First-frame path.
    const framed = await TestClient.connect(running.wsUrl);
    framed.send({ type: 'auth', token: 'slow-key-secret' });
    // Both verifications are past the key check and waiting (an event, not a sleep).
    await vi.waitFor(() => expect(inFlight).toBe(2), { timeout: 10_000, interval: 5 });
    expect(inner.revoke('k1')).toBe(true);
    release();
    expect(((await upgrading) as UpgradeRefused).status).toBe(401);
    expect(await framed.next('error')).toMatchObject({ code: 'FORBIDDEN' });
    expect((await framed.waitClose()).code).toBe(4003);
  });
});

describe('token refresh re-authorizes held channels', () => {
  it('a refresh that drops PlatformAdmin removes the other tenant’s channel and stops its events', async () => {
    running = await startGateway({ allowPlatformAdmin: true });
    const { client } = await TestClient.authed(running.wsUrl, await signToken({ roles: ['PlatformAdmin'] }));
    client.send({ type: 'subscribe', id: 1, channels: ['tenant:t2:updates'] });
    expect(await client.next('ack')).toMatchObject({ accepted: [{ channel: 'tenant:t2:updates' }] });
    await running.gateway.publish({ channel: 'tenant:t2:updates', event_type: 'e', payload: 1 });
    expect((await client.next('event')).channel).toBe('tenant:t2:updates');
    client.send({ type: 'auth', id: 2, token: await signToken({ roles: [] }) });
    expect(await client.next('error')).toMatchObject({ code: 'FORBIDDEN', channel: 'tenant:t2:updates' });
    expect(await client.next('ack')).toMatchObject({ id: 2, refreshed: true });
    await running.gateway.publish({ channel: 'tenant:t2:updates', event_type: 'e', payload: 2 });
    await running.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'e', payload: 3 });
    const next = (await client.next('event')) as EventFrame;
    expect(next).toMatchObject({ channel: 'tenant:t1:updates', payload: 3 });
    expect(await client.quiet()).toEqual([]);
  });
});
