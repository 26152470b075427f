import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Running, signToken, startGateway, TestClient, UpgradeRefused } from '../support/harness.js';

let running: Running | null = null;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await running?.close();
  running = null;
});

type Outcome = { opened: WebSocket } | { status: number; body: { code?: string; message?: string } };

/** Opens a socket that never authenticates. */
function openSilent(url: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
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

describe('unauthenticated sockets cannot lock authenticated clients out (D4)', () => {
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
    running = await startGateway({ maxConnections: 10, maxUnauthenticatedConnections: 1, authTimeoutMs: 300 });
    const url = running.wsUrl;
    const first = await openSilent(url);
    if (!('opened' in first)) throw new Error('expected an open socket');
    expect(await openSilent(url)).toMatchObject({ status: 429 });
    const code = await new Promise<number>((resolve) => first.opened.once('close', (c) => resolve(c)));
    expect(code).toBe(4001);
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
