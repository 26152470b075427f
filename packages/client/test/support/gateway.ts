import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { createGateway, type Gateway, type GatewayOptions, MemoryBroker, silentLogger } from '@albatross/server';
import { SignJWT } from 'jose';

export const SECRET = 'client-tests-secret-0123456789abcdef';

/** Signs an HS256 token the test gateway accepts; `exp` defaults to one hour from now. */
export async function signToken(claims: { sub?: string; tenant_id?: string; exp?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { sub = 'u1', tenant_id = 't1', exp = now + 3600 } = claims;
  return new SignJWT({ tenant_id })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(SECRET));
}

/**
 * A real gateway on 127.0.0.1, port 0, behind a switch the test controls:
 * `outage = true` refuses every new upgrade (the server is "down"), and
 * `killConnections()` destroys every open TCP connection server-side.
 * The gateway listens on a shadow server that only receives the upgrades
 * let through, so it can be replaced (`redeploy()`) on the same port.
 */
export class TestGateway {
  outage = false;
  readonly sockets = new Set<net.Socket>();
  readonly broker: MemoryBroker;
  private shadow = http.createServer();

  private constructor(
    readonly server: http.Server,
    public gateway: Gateway,
    private readonly options: Partial<GatewayOptions>,
    broker: MemoryBroker,
  ) {
    this.broker = broker;
  }

  static async start(
    options: Partial<GatewayOptions> = {},
    handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  ): Promise<TestGateway> {
    const server = http.createServer((req, res) => {
      if (handler) handler(req, res);
      else res.writeHead(404).end();
    });
    const broker = new MemoryBroker({ historySize: options.historySize ?? 1000 });
    const shadow = http.createServer();
    const gateway = await TestGateway.gatewayOn(shadow, broker, options);
    const running = new TestGateway(server, gateway, options, broker);
    running.shadow = shadow;
    server.on('connection', (socket) => {
      running.sockets.add(socket);
      socket.on('close', () => running.sockets.delete(socket));
    });
    server.on('upgrade', (req, socket, head) => {
      if (running.outage) socket.destroy();
      else running.shadow.emit('upgrade', req, socket, head);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return running;
  }

  private static gatewayOn(shadow: http.Server, broker: MemoryBroker, options: Partial<GatewayOptions>) {
    return createGateway({
      server: shadow,
      auth: { jwt: { secret: SECRET } },
      logger: silentLogger,
      broker,
      ...options,
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Destroys every open TCP connection from the server side (no close frame). */
  killConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** A deploy: the gateway closes every client with 1001 and a new one takes over the same broker and port. */
  async redeploy(): Promise<void> {
    this.outage = true;
    await this.gateway.close();
    this.shadow = http.createServer();
    this.gateway = await TestGateway.gatewayOn(this.shadow, this.broker, this.options);
  }

  async publish(
    channel: string,
    count: number,
    eventType = 'item.added',
    payload: (i: number) => unknown = (i) => ({ i }),
  ) {
    for (let i = 0; i < count; i++) {
      await this.gateway.publish({ channel, event_type: eventType, payload: payload(i) as never });
    }
  }

  async close(): Promise<void> {
    await this.gateway.close();
    this.killConnections();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A loopback TCP proxy whose server → client direction can be paused: the
 * client stops reading, as a stalled browser tab would, and the gateway's
 * outbound buffer grows.
 */
export class StallingProxy {
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private stalled = false;

  private constructor(private readonly server: net.Server) {}

  static async start(targetPort: number): Promise<StallingProxy> {
    const server = net.createServer();
    const proxy = new StallingProxy(server);
    server.on('connection', (client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      const pair = { client, upstream };
      proxy.pairs.add(pair);
      if (proxy.stalled) upstream.pause();
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => client.write(chunk));
      const end = () => {
        client.destroy();
        upstream.destroy();
        proxy.pairs.delete(pair);
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/ws`;
  }

  /** Stops reading what the gateway sends (on current connections). */
  stall(): void {
    this.stalled = true;
    for (const { upstream } of this.pairs) upstream.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const { upstream } of this.pairs) upstream.resume();
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `check` every 10 ms until it is true; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `[1, 2, …, n]`. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
