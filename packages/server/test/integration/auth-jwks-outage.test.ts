import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRefused, TestClient, useGateways } from '../support/harness.js';

/**
 * D3 end to end: a gateway whose JWKS endpoint (real HTTP server on loopback)
 * answers 500 tells a client with a valid RS256 token UNAVAILABLE (HTTP 503
 * on the upgrade; `error UNAVAILABLE` and close 1001 after a first-frame
 * auth), as docs/protocol.md says, never UNAUTHORIZED / 4001.
 */

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const gateways = useGateways();
let idp: http.Server;
let jwksUrl: string;

beforeAll(async () => {
  idp = http.createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'text/html' }).end('<html>Internal Server Error</html>');
  });
  idp.listen(0, '127.0.0.1');
  await once(idp, 'listening');
  jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  idp.closeAllConnections();
  await new Promise<void>((resolve) => idp.close(() => resolve()));
});

const token = () =>
  new SignJWT({ sub: 'u1', tenant_id: 't1', exp: Math.floor(Date.now() / 1000) + 600 })
    .setProtectedHeader({ alg: 'RS256', kid: 'r1' })
    .sign(rsa.privateKey);

describe('JWKS endpoint down (D3)', () => {
  it('refuses the upgrade with 503 UNAVAILABLE, not 401', async () => {
    const running = await gateways.start({ auth: { jwt: { jwksUrl } } });
    const refused = await expectRefused(running.wsUrl, { authorization: `Bearer ${await token()}` });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('UNAVAILABLE');
  });

  it('answers a first-frame auth with error UNAVAILABLE and close 1001', async () => {
    const running = await gateways.start({ auth: { jwt: { jwksUrl } } });
    const client = gateways.track(await TestClient.connect(running.wsUrl));
    client.send({ type: 'auth', token: await token() });
    const error = await client.next('error');
    expect(error.code).toBe('UNAVAILABLE');
    const closed = await client.waitClose();
    expect(closed.code).toBe(1001);
    expect(JSON.parse(closed.reason)).toEqual({ reconnect_after_ms: expect.any(Number) });
  });
});
