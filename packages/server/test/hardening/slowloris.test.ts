import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, httpServerOptions } from '../../src/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { ADMIN_KEY, type HalfUpgrade, SECRET, sendHalfUpgrade, signToken, TestClient } from '../support/harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(server: http.Server): Promise<{ gateway: Gateway; port: number }> {
  const gateway = await createGateway({
    server,
    auth: { jwt: { secret: SECRET } },
    adminKey: ADMIN_KEY,
    serveHttp: true,
    logger: silentLogger,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    await gateway.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { gateway, port: (server.address() as AddressInfo).port };
}

/** A half-sent upgrade whose socket this file's cleanup destroys. */
function halfUpgrade(port: number): HalfUpgrade {
  const half = sendHalfUpgrade(port);
  cleanups.push(async () => {
    half.socket.destroy();
  });
  return half;
}

async function gauge(gateway: Gateway): Promise<number> {
  const text = await gateway.metrics();
  const match = /^albatross_http_sockets_not_upgraded (\d+)$/m.exec(text);
  if (!match?.[1]) throw new Error('albatross_http_sockets_not_upgraded missing from /metrics');
  return Number(match[1]);
}

/** Polls `read` until `done` (bounded in count), returning the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 200 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    value = await read();
  }
  return value;
}

describe('slowloris: half-sent upgrade requests (D12)', () => {
  it('the standalone server options close a socket whose upgrade head never completes, with 408', async () => {
    const server = http.createServer(httpServerOptions({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 }));
    const { gateway, port } = await serve(server);
    const slow = halfUpgrade(port);
    // Counted while it holds the socket.
    expect(
      await until(
        () => gauge(gateway),
        (n) => n === 1,
      ),
    ).toBe(1);
    const { answer, byServer } = await slow.closed;
    expect(byServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(
      await until(
        () => gauge(gateway),
        (n) => n === 0,
      ),
    ).toBe(0);
    // The server still serves complete upgrades, and those are not counted as pending.
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, {
      authorization: `Bearer ${await signToken()}`,
    });
    expect((await client.next('welcome')).type).toBe('welcome');
    expect(await gauge(gateway)).toBe(0);
    client.close();
  });

  it('a request body trickled past the request timeout is cut off too', async () => {
    const server = http.createServer(httpServerOptions({ headersTimeoutMs: 200, requestTimeoutMs: 400 }));
    const { port } = await serve(server);
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        `POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"chan`,
      ),
    );
    socket.on('error', () => {});
    // Read what comes back: a paused socket would never see the server's end.
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    let byServer = true;
    const guard = setTimeout(() => {
      byServer = false;
      socket.destroy();
    }, 10_000);
    await once(socket, 'close');
    clearTimeout(guard);
    expect(byServer).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('refuses a request timeout shorter than the headers timeout', () => {
    expect(() => httpServerOptions({ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 })).toThrow(RangeError);
    expect(httpServerOptions()).toMatchObject({ headersTimeout: 5_000, requestTimeout: 30_000 });
  });

  it('counts stalled sockets on an embedding server too (not closed there unless the app sets timeouts)', async () => {
    const server = http.createServer();
    const { gateway, port } = await serve(server);
    const stalled = [halfUpgrade(port), halfUpgrade(port), halfUpgrade(port)];
    expect(
      await until(
        () => gauge(gateway),
        (n) => n === 3,
      ),
    ).toBe(3);
    for (const { socket } of stalled) socket.destroy();
    expect(
      await until(
        () => gauge(gateway),
        (n) => n === 0,
      ),
    ).toBe(0);
  });
});
