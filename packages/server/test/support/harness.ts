import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { ServerFrame } from '@albatross/protocol';
import { SignJWT } from 'jose';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/index.js';
import { silentLogger } from '../../src/log/logger.js';

/**
 * A value that cannot occur by chance in any output (192 random bits): for
 * every secret a test greps for. A short or fixed string can, e.g. `T1` is in
 * every ISO timestamp between 10:00 and 19:59 UTC.
 */
export function randomSecret(label = 'secret'): string {
  return `${label}-${randomBytes(24).toString('hex')}`;
}

export const SECRET = 'test-secret-0123456789abcdef';
/** Random per run: tests grep logs for it. */
export const ADMIN_KEY = randomSecret('admin-key');

/** Signs an HS256 test token; `exp` defaults to one hour from now. */
export async function signToken(
  claims: { sub?: string; tenant_id?: string; roles?: string[]; channels?: string[]; exp?: number; nbf?: number } = {},
  secret = SECRET,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { sub = 'u1', tenant_id = 't1', exp = now + 3600, ...rest } = claims;
  const payload: Record<string, unknown> = { tenant_id, ...rest };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

export interface Running {
  gateway: Gateway;
  server: http.Server;
  port: number;
  wsUrl: string;
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Options every test gateway gets unless the test overrides them. The rate
 * limit is generous so tests that send many frames are not throttled; tests
 * of the limiter itself pass their own `rateLimit`.
 */
export const HARNESS_DEFAULTS = {
  rateLimit: { burst: 10_000, perMs: 1000 },
} as const satisfies Partial<GatewayOptions>;

/** Starts a real gateway on 127.0.0.1, port 0. */
export async function startGateway(options: Partial<GatewayOptions> = {}): Promise<Running> {
  const server = http.createServer();
  const gateway = await createGateway({
    server,
    auth: { jwt: { secret: SECRET } },
    adminKey: ADMIN_KEY,
    serveHttp: true,
    logger: silentLogger,
    ...HARNESS_DEFAULTS,
    ...options,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    gateway,
    server,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A raw protocol client for tests: every received frame is queued, and
 * `next()` takes them in order, so tests assert exact sequences.
 */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  private waiters: Array<() => void> = [];
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
      for (const w of this.closeWaiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Opens a socket; rejects with `UpgradeRefused` on an HTTP answer, and with
   * a timeout error naming the URL if neither comes within `timeoutMs`
   * (a server that never answers fails the step that waited, not the test's
   * overall timeout).
   */
  static async connect(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`timed out opening ${url} after ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (done: () => void) => {
        clearTimeout(timer);
        done();
      };
      ws.once('open', () => settle(resolve));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => settle(() => reject(new UpgradeRefused(res.statusCode ?? 0, body))));
      });
      ws.once('error', (error) => settle(() => reject(error)));
    });
    return client;
  }

  /** Connects and authenticates with a first `auth` frame; returns after `welcome`. */
  static async authed(url: string, token: string): Promise<{ client: TestClient; welcome: ServerFrame }> {
    const client = await TestClient.connect(url);
    client.send({ type: 'auth', token });
    const welcome = await client.next('welcome');
    return { client, welcome };
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends raw bytes as a binary frame. */
  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  /** Sends raw bytes as a text frame, unvalidated (e.g. invalid UTF-8). */
  sendTextBytes(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: false });
  }

  private syncId = 1_000_000_000;

  /**
   * Round-trips a ping with a fresh id and returns every frame that arrived
   * before its pong: a barrier after which everything the server sent for
   * earlier frames has been received.
   */
  async sync(timeoutMs = 5000): Promise<ServerFrame[]> {
    const id = this.syncId++;
    this.send({ type: 'ping', id });
    const before: ServerFrame[] = [];
    for (let i = 0; i < 100_000; i++) {
      const frame = await this.next(undefined, timeoutMs);
      if (frame.type === 'pong' && frame.id === id) return before;
      before.push(frame);
    }
    throw new Error('sync: too many frames');
  }

  /** The next frame (optionally asserting its type), waiting up to `timeoutMs`. */
  async next<T extends ServerFrame['type']>(type?: T, timeoutMs = 5000): Promise<Extract<ServerFrame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed)
        throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for a frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${type ?? 'a frame'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const frame = this.frames.shift() as ServerFrame;
    if (type !== undefined && frame.type !== type) {
      throw new Error(`expected ${type}, got ${JSON.stringify(frame)}`);
    }
    return frame as Extract<ServerFrame, { type: T }>;
  }

  /** Resolves when nothing arrives for `ms` (to assert absence). */
  async quiet(ms = 150): Promise<ServerFrame[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.frames.splice(0);
  }

  async waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return this.closed;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closed as unknown as { code: number; reason: string };
  }

  close(): void {
    this.ws.close();
  }
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`upgrade refused with ${status}: ${body}`);
  }
}

/** Bounds each admin request, so a request nobody answers names itself. */
const REQUEST_TIMEOUT_MS = 10_000;

/** POSTs JSON to the gateway's HTTP API. */
export async function post(
  baseUrl: string,
  path: string,
  body: unknown,
  key: string | null = ADMIN_KEY,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export async function get(
  baseUrl: string,
  path: string,
  key: string | null = ADMIN_KEY,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${path}`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Connects expecting the upgrade to be refused; returns the HTTP status and parsed JSON body. */
export async function expectRefused(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { code?: string; message?: string } }> {
  try {
    const client = await TestClient.connect(url, headers);
    client.close();
  } catch (error) {
    if (error instanceof UpgradeRefused) return { status: error.status, body: JSON.parse(error.body) };
    throw error;
  }
  throw new Error(`upgrade to ${url} was accepted`);
}

/** Lower-case hex SHA-256 of a string (API key records). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Per-file cleanup: gateways started and clients opened through the returned
 * helpers are closed after each test.
 */
export function useGateways(): {
  start(options?: Partial<GatewayOptions>): Promise<Running>;
  track(client: TestClient): TestClient;
} {
  const running: Running[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) if (!client.closed) client.ws.terminate();
    for (const r of running.splice(0)) await r.close();
  });
  return {
    async start(options) {
      const r = await startGateway(options);
      running.push(r);
      return r;
    },
    track(client) {
      clients.push(client);
      return client;
    },
  };
}

/** A raw socket holding a half-sent upgrade request, and how it ended. */
export interface HalfUpgrade {
  socket: net.Socket;
  /** `byServer` false: our own 10 s guard closed it, so the server never did. */
  closed: Promise<{ answer: string; byServer: boolean }>;
}

/**
 * Opens a raw socket and sends only part of an upgrade request's head (a
 * slowloris client); resolves `closed` with what the server answered.
 */
export function sendHalfUpgrade(port: number): HalfUpgrade {
  const socket = net.connect(port, '127.0.0.1', () =>
    socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n'),
  );
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  // Far above any timeout the tests configure: if it fires, the server did not close the socket.
  let byServer = true;
  const guard = setTimeout(() => {
    byServer = false;
    socket.destroy();
  }, 10_000);
  const closed = new Promise<{ answer: string; byServer: boolean }>((resolve) =>
    socket.once('close', () => {
      clearTimeout(guard);
      resolve({ answer, byServer });
    }),
  );
  return { socket, closed };
}
