import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { ADMIN_KEY, expectRefused, HARNESS_DEFAULTS, post, SECRET, signToken, TestClient } from '../support/harness.js';

interface App {
  server: http.Server;
  gateway: Gateway;
  appWss: WebSocketServer;
  base: string;
  ws: string;
}

const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) {
    await app.gateway.close();
    app.appWss.close();
    app.server.closeAllConnections();
    await new Promise<void>((resolve) => app.server.close(() => resolve()));
  }
});

/** An app with its own HTTP routes and its own WebSocket endpoint at /chat, with the gateway embedded. */
async function startApp(options: Partial<GatewayOptions> = {}): Promise<App> {
  let gateway: Gateway | null = null;
  const server = http.createServer((req, res) => {
    if (gateway?.handleRequest(req, res)) return;
    if (req.url === '/app/hello') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello from the app');
      return;
    }
    res.writeHead(418, { 'content-type': 'text/plain' });
    res.end('the app says no');
  });
  const appWss = new WebSocketServer({ noServer: true });
  appWss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${data.toString()}`)));
  gateway = await createGateway({
    server,
    auth: { jwt: { secret: SECRET } },
    adminKey: ADMIN_KEY,
    logger: silentLogger,
    ...HARNESS_DEFAULTS,
    ...options,
  });
  // Registered after the gateway's listener, so the gateway sees every upgrade first
  // and must leave the ones that are not on its paths untouched.
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/chat') appWss.handleUpgrade(req, socket, head, (ws) => appWss.emit('connection', ws, req));
    else if (req.url?.startsWith('/teapot')) socket.end('HTTP/1.1 418 I am a teapot\r\nConnection: close\r\n\r\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const app = { server, gateway, appWss, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
  apps.push(app);
  return app;
}

describe('embedded mode (createGateway on the app’s own server, no serveHttp)', () => {
  it('leaves the app’s routes alone and serves its own through handleRequest', async () => {
    const app = await startApp();
    const hello = await fetch(`${app.base}/app/hello`);
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe('hello from the app');
    const other = await fetch(`${app.base}/elsewhere`);
    expect(other.status).toBe(418); // not the gateway's 404
    expect((await fetch(`${app.base}/live`)).status).toBe(200);
    expect((await fetch(`${app.base}/ready`)).status).toBe(200);
    const published = await post(app.base, '/api/publish', {
      channel: 'tenant:t1:updates',
      event_type: 'x',
      payload: 1,
    });
    expect(published.status).toBe(200);
  });

  it('serves WebSocket clients on /ws with in-process publish', async () => {
    const app = await startApp();
    const { client, welcome } = await TestClient.authed(`${app.ws}/ws`, await signToken());
    expect(welcome).toMatchObject({ user_id: 'u1' });
    await app.gateway.publish({ channel: 'user:u1:updates', event_type: 'x', payload: 'embedded' });
    expect((await client.next('event')).payload).toBe('embedded');
    client.close();
  });

  it('leaves upgrades on other paths to the app', async () => {
    const app = await startApp();
    const chat = new WebSocket(`${app.ws}/chat`);
    await once(chat, 'open');
    chat.send('hi');
    const [reply] = await once(chat, 'message');
    expect(String(reply)).toBe('echo:hi');
    chat.close();
    // The app's own refusal reaches the client, not a gateway 404.
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${app.ws}/teapot`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });
    expect(refused).toBe(418);
  });

  it('honours custom paths', async () => {
    const app = await startApp({ paths: ['/realtime'] });
    const { welcome } = await TestClient.authed(`${app.ws}/realtime`, await signToken());
    expect(welcome.type).toBe('welcome');
    const nobody = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${app.ws}/teapot/ws`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });
    expect(nobody).toBe(418);
  });

  it('refuses bad credentials with 401 on its path, as standalone does', async () => {
    const app = await startApp();
    const bad = await signToken({}, 'some-other-secret-0123456789');
    expect(await expectRefused(`${app.ws}/ws?access_token=${bad}`)).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
  });

  it('gateway.close() closes its clients with 1001 and leaves the app serving', async () => {
    const app = await startApp();
    const { client } = await TestClient.authed(`${app.ws}/ws`, await signToken());
    await app.gateway.close();
    expect((await client.waitClose()).code).toBe(1001);
    expect((await fetch(`${app.base}/app/hello`)).status).toBe(200);
  });
});
