import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type Running, signToken, startGateway, TestClient, UpgradeRefused } from '../support/harness.js';

let running: Running | null = null;
const sockets: WebSocket[] = [];
const rawSockets: net.Socket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const raw of rawSockets.splice(0)) raw.destroy();
  await running?.close();
  running = null;
});

type Outcome = { opened: WebSocket } | { status: number; body: { code?: string; message?: string } };

/** Opens a socket that never authenticates. */
function openSilent(url: string, origin?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    sockets.push(ws);
    ws.on('error', () => {});
    ws.once('open', () => resolve({ opened: ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.once('error', reject);
  });
}

const opened = (outcomes: Outcome[]) => outcomes.filter((o): o is { opened: WebSocket } => 'opened' in o);
const refused = (outcomes: Outcome[]) => outcomes.filter((o) => 'status' in o);

/**
 * Completes a WebSocket handshake by hand and then reads nothing and answers
 * nothing, as a peer that ignores the server's close frame would.
 */
function rawHandshake(url: string, origin: string): Promise<net.Socket> {
  const { port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const raw = net.connect(Number(port), '127.0.0.1');
    rawSockets.push(raw);
    raw.once('error', reject);
    raw.once('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').startsWith('HTTP/1.1 101')) resolve(raw);
      else reject(new Error(`no 101: ${chunk.toString('latin1').split('\r\n')[0]}`));
    });
    raw.write(
      [
        `GET ${pathname} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `Origin: ${origin}`,
        '',
        '',
      ].join('\r\n'),
    );
  });
}

describe('unauthenticated sockets cannot lock authenticated clients out (D4)', () => {
  it('a browser upgrade refused for its Origin holds an unauthenticated slot until its socket is gone', async () => {
    // The share is 1 of 10: one socket shows whether refused-Origin upgrades are counted.
    running = await startGateway({
      maxConnections: 10,
      authTimeoutMs: 60_000,
      allowedOrigins: ['https://app.example.com'],
    });
    const url = running.wsUrl;
    const held = await rawHandshake(url, 'https://evil.example.net');
    // While it lingers (it never answers the 4003 close), it counts like any socket without a credential.
    expect(await openSilent(url)).toMatchObject({ status: 429, body: { code: 'CONNECTION_LIMIT' } });
    expect(await openSilent(url, 'https://evil.example.net')).toMatchObject({ status: 429 });
    // A credential on the upgrade is still admitted.
    const bearer = await TestClient.connect(url, { authorization: `Bearer ${await signToken()}` });
    expect((await bearer.next('welcome')).type).toBe('welcome');
    bearer.close();
    // Once it is gone, the slot is free again.
    held.destroy();
    await vi.waitFor(
      async () => {
        const outcome = await openSilent(url);
        expect('opened' in outcome).toBe(true);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('20 silent sockets on a node capped at 20 do not stop clients with a valid bearer token', async () => {
    running = await startGateway({ maxConnections: 20, authTimeoutMs: 60_000 });
    const url = running.wsUrl;
    const silent = await Promise.all(Array.from({ length: 20 }, () => openSilent(url)));
    // The unauthenticated share is 10 % of the cap: 2 get in, 18 are refused before the upgrade.
    expect(opened(silent)).toHaveLength(2);
    expect(refused(silent)).toHaveLength(18);
    for (const r of refused(silent)) expect(r).toMatchObject({ status: 429, body: { code: 'CONNECTION_LIMIT' } });
    // Reopening does not help while the share is held.
    expect(await openSilent(url)).toMatchObject({ status: 429 });
    // Every other slot goes to clients that carry a credential.
    const clients: TestClient[] = [];
    for (let i = 0; i < 18; i++) {
      const client = await TestClient.connect(url, {
        authorization: `Bearer ${await signToken({ sub: `u${i}` })}`,
      });
      expect((await client.next('welcome')).type).toBe('welcome');
      clients.push(client);
    }
    expect(running.gateway.connectionCount).toBe(20);
    // The node is full now, for everyone: the cap itself still holds.
    const late = await TestClient.connect(url, { authorization: `Bearer ${await signToken({ sub: 'late' })}` }).catch(
      (error: unknown) => error,
    );
    expect(late).toBeInstanceOf(UpgradeRefused);
    expect((late as UpgradeRefused).status).toBe(429);
    // The silent sockets were not disturbed.
    for (const { opened: ws } of opened(silent)) expect(ws.readyState).toBe(WebSocket.OPEN);
    for (const client of clients) client.close();
  });

  it('caps unauthenticated sockets per source address; authenticating frees the slot', async () => {
    running = await startGateway({ maxUnauthenticatedPerAddress: 2, authTimeoutMs: 60_000 });
    const url = running.wsUrl;
    const mine = [await openSilent(url), await openSilent(url)];
    expect(opened(mine)).toHaveLength(2);
    const third = await openSilent(url);
    expect(third).toMatchObject({ status: 429, body: { code: 'CONNECTION_LIMIT' } });
    expect('body' in third && third.body.message).toMatch(/from this address/);
    // (Other addresses keep their own count: see test/unit/admission.test.ts; here every socket is 127.0.0.1.)
    // A credential on the upgrade from the same address is not affected.
    const bearer = await TestClient.connect(url, { authorization: `Bearer ${await signToken()}` });
    expect((await bearer.next('welcome')).type).toBe('welcome');
    // One of the silent sockets authenticates with its first frame: its address has room again.
    const first = mine[0];
    if (!first || !('opened' in first)) throw new Error('expected an open socket');
    const welcomed = new Promise<unknown>((resolve) =>
      first.opened.once('message', (data) => resolve(JSON.parse(String(data)))),
    );
    first.opened.send(JSON.stringify({ type: 'auth', token: await signToken({ sub: 'u9' }) }));
    expect(await welcomed).toMatchObject({ type: 'welcome' });
    expect(await openSilent(url)).toHaveProperty('opened');
    expect(await openSilent(url)).toMatchObject({ status: 429 });
    bearer.close();
  });

  it('a silent socket dropped at its auth timeout gives its unauthenticated slot back', async () => {
    // Long enough that the refused second socket is surely answered while the first still holds the slot.
    running = await startGateway({ maxConnections: 10, maxUnauthenticatedConnections: 1, authTimeoutMs: 2000 });
    const url = running.wsUrl;
    const first = await openSilent(url);
    if (!('opened' in first)) throw new Error('expected an open socket');
    // Listening from the start, so a close that comes early is not missed.
    const closed = new Promise<number>((resolve) => first.opened.once('close', (c) => resolve(c)));
    expect(await openSilent(url)).toMatchObject({ status: 429 });
    expect(await closed).toBe(4001);
    // Released when the socket closed: the next silent socket is admitted.
    let next: Outcome = await openSilent(url);
    // The server may see the close a moment after the client: retry a bounded number of times.
    for (let i = 0; i < 50 && 'status' in next; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      next = await openSilent(url);
    }
    expect(next).toHaveProperty('opened');
  });
});
