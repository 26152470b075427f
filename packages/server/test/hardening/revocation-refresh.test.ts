import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ApiKeyVerifier, StaticApiKeyVerifier } from '../../src/auth/api-keys.js';
import type { Identity } from '../../src/auth/identity.js';
import { TestClient, useGateways } from '../support/harness.js';

const gateways = useGateways();
const sha = (value: string) => createHash('sha256').update(value).digest('hex');

describe('token refresh consults the revoked-keys memory', () => {
  it('a refresh onto an API key revoked while it was being verified is refused; the connection stays as it was', async () => {
    const keyA = `key-a-${randomBytes(16).toString('hex')}`;
    const keyB = `key-b-${randomBytes(16).toString('hex')}`;
    const inner = new StaticApiKeyVerifier([
      { id: 'kA', sha256: sha(keyA), sub: 'svc', tenant_id: 't1' },
      { id: 'kB', sha256: sha(keyB), sub: 'svc', tenant_id: 't1' },
    ]);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => {};
    const verifying = new Promise<void>((resolve) => {
      entered = resolve;
    });
    // A verifier whose answer for key B was looked up before B was revoked (an in-flight
    // verification, or a verifier whose store lags behind its revocation events).
    const verifier: ApiKeyVerifier = {
      async verify(key): Promise<Identity | null> {
        const identity = await inner.verify(key);
        if (key === keyB) {
          entered();
          await gate;
        }
        return identity;
      },
      onRevoke: (listener) => inner.onRevoke(listener),
    };
    const running = await gateways.start({ auth: { apiKeys: verifier } });
    const { client } = await TestClient.authed(running.wsUrl, keyA);
    gateways.track(client);
    await client.sync();

    client.send({ type: 'auth', id: 2, token: keyB });
    await verifying;
    expect(inner.revoke('kB')).toBe(true);
    release();
    expect(await client.next('error')).toMatchObject({ code: 'FORBIDDEN', id: 2 });
    // No `ack refreshed` followed, and the connection (still on key A) is open.
    const after = await client.sync();
    expect(after.filter((frame) => frame.type === 'ack')).toEqual([]);
    expect(client.closed).toBeNull();
    // Revoking key A now closes it: it was never moved onto key B.
    expect(inner.revoke('kA')).toBe(true);
    expect((await client.waitClose()).code).toBe(4003);
  });
});
