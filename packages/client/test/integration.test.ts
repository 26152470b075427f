import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type AlbatrossClient,
  type AlbatrossClientError,
  type ClientOptions,
  createClient,
  type StaleEvent,
} from '../src/index.js';
import { range, StallingProxy, signToken, TestGateway, waitFor } from './support/gateway.js';

interface Observed {
  client: AlbatrossClient;
  offsets: (channel: string) => number[];
  states: string[];
  reconnects: Array<{ code: number; attempt: number }>;
  errors: AlbatrossClientError[];
  stale: StaleEvent[];
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gatewayFor(options: Parameters<typeof TestGateway.start>[0] = {}): Promise<TestGateway> {
  const gw = await TestGateway.start(options);
  cleanups.push(() => gw.close());
  return gw;
}

function observe(url: string, options: Partial<ClientOptions> = {}): Observed {
  const client = createClient({
    url,
    WebSocket,
    getToken: () => signToken(),
    minReconnectDelayMs: 50,
    maxReconnectDelayMs: 200,
    ...options,
  });
  cleanups.push(() => client.disconnect());
  const events = new Map<string, number[]>();
  const o: Observed = {
    client,
    offsets: (channel) => events.get(channel) ?? [],
    states: [],
    reconnects: [],
    errors: [],
    stale: [],
  };
  client.on('event', (e) => {
    const list = events.get(e.channel) ?? [];
    list.push(e.offset);
    events.set(e.channel, list);
  });
  client.on('state', (s) => o.states.push(s.new));
  client.on('reconnecting', (r) => o.reconnects.push({ code: r.code, attempt: r.attempt }));
  client.on('error', (e) => o.errors.push(e));
  client.on('stale', (e) => o.stale.push(e));
  return o;
}

describe('against the real gateway', () => {
  it('reconnects after a server-side kill and delivers every event once, in order, including those published during the outage', async () => {
    const gw = await gatewayFor();
    const o = observe(gw.url);
    const orders = o.client.subscribe('tenant:t1:orders');
    o.client.connect();
    await waitFor(() => orders.state === 'subscribed', 'subscribed');
    const firstConnection = o.client.session?.connectionId;

    await gw.publish('tenant:t1:orders', 5);
    await gw.publish('tenant:t1:updates', 2); // a baseline channel
    await waitFor(
      () => o.offsets('tenant:t1:orders').length === 5 && o.offsets('tenant:t1:updates').length === 2,
      'live events',
    );

    gw.outage = true;
    gw.killConnections();
    await waitFor(() => o.client.state === 'connecting', 'connection lost');
    await gw.publish('tenant:t1:orders', 5);
    await gw.publish('tenant:t1:updates', 3);
    await waitFor(() => o.reconnects.length >= 3, 'a few refused attempts');
    expect(o.client.state).toBe('connecting');

    gw.outage = false;
    await waitFor(() => o.client.state === 'connected', 'reconnected');
    await gw.publish('tenant:t1:orders', 5);
    await waitFor(
      () => o.offsets('tenant:t1:orders').length >= 15 && o.offsets('tenant:t1:updates').length >= 5,
      'all events',
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // anything extra would show up now

    expect(o.offsets('tenant:t1:orders')).toEqual(range(15));
    expect(o.offsets('tenant:t1:updates')).toEqual(range(5));
    expect(orders.recovered).toBe(true);
    expect(o.client.getSubscription('tenant:t1:updates')?.recovered).toBe(true);
    expect(o.stale).toEqual([]);
    expect(o.client.session?.connectionId).not.toBe(firstConnection);
    expect(o.reconnects[0]?.code).toBe(1006);
  });

  it('refreshes the token in-band before exp without reconnecting', async () => {
    const gw = await gatewayFor();
    const now = Math.floor(Date.now() / 1000);
    // A first token that lives a few seconds: enough to connect on a loaded machine, short enough to refresh soon.
    const exps = [now + 6, now + 3600];
    let calls = 0;
    const o = observe(gw.url, {
      getToken: () => {
        const exp = exps[Math.min(calls, 1)];
        calls += 1;
        return signToken({ exp });
      },
    });
    const refreshed: Array<number | undefined> = [];
    o.client.on('refreshed', ({ exp }) => refreshed.push(exp));
    o.client.connect();
    await waitFor(() => o.client.state === 'connected', 'connected');
    const connectionId = o.client.session?.connectionId;
    await waitFor(() => refreshed.length === 1, 'refresh ack', 10_000);
    expect(refreshed).toEqual([now + 3600]);
    await gw.publish('tenant:t1:updates', 2);
    await waitFor(() => o.offsets('tenant:t1:updates').length === 2, 'events after refresh');
    expect(o.client.session?.connectionId).toBe(connectionId);
    expect(o.states).toEqual(['connecting', 'connected']);
    expect(o.reconnects).toEqual([]);
    expect(o.errors).toEqual([]);
    expect(calls).toBe(2);
  });

  it('replaces an expired token after the 4001 close and connects', async () => {
    const gw = await gatewayFor();
    let calls = 0;
    const o = observe(gw.url, {
      getToken: () => {
        calls += 1;
        return signToken({ exp: calls === 1 ? Math.floor(Date.now() / 1000) - 120 : undefined });
      },
    });
    o.client.connect();
    await waitFor(() => o.client.state === 'connected', 'connected');
    expect(o.reconnects.map((r) => r.code)).toEqual([4001]);
    expect(o.errors.map((e) => e.code)).toContain('TOKEN_EXPIRED');
    expect(calls).toBe(2);
  });

  it('a page from an origin the gateway refuses is told which origin and which setting, and stops', async () => {
    const gw = await gatewayFor({ allowedOrigins: ['https://app.example.com'] });
    // What a browser on http://localhost:5173 sends.
    class BrowserSocket extends WebSocket {
      constructor(url: string) {
        super(url, { origin: 'http://localhost:5173' });
      }
    }
    const o = observe(gw.url, { WebSocket: BrowserSocket, warn: false });
    o.client.connect();
    await waitFor(() => o.client.state === 'error', 'error state');
    const error = o.client.getSnapshot().error;
    expect(error?.code).toBe('FORBIDDEN');
    expect(error?.details.closeCode).toBe(4003);
    expect(error?.message).toBe('origin http://localhost:5173 is not allowed: add it to --allowed-origins');
    await new Promise((resolve) => setTimeout(resolve, 500)); // 10× the minimum retry delay
    expect(o.reconnects).toEqual([]);
    expect(gw.gateway.connectionCount).toBe(0);
  });

  it('stops for good when the server revokes the connection (4003)', async () => {
    const gw = await gatewayFor();
    const o = observe(gw.url);
    o.client.connect();
    await waitFor(() => o.client.state === 'connected', 'connected');
    expect(await gw.gateway.disconnect({ user_id: 'u1' })).toBe(1);
    await waitFor(() => o.client.state === 'error', 'error state');
    expect(o.client.error?.code).toBe('FORBIDDEN');
    // The server side of the close handshake ends by its own clock; wait for it, not for a fixed time.
    await waitFor(() => gw.gateway.connectionCount === 0, 'closed on the server');
    await new Promise((resolve) => setTimeout(resolve, 500)); // 10× the minimum retry delay
    expect(o.reconnects).toEqual([]);
    expect(gw.gateway.connectionCount).toBe(0);
  });

  it('recovers without loss after a slow-consumer close (4009)', async () => {
    const gw = await gatewayFor({ slowConsumerBytes: 64 * 1024, historySize: 5000 });
    const proxy = await StallingProxy.start(gw.port);
    cleanups.push(() => proxy.close());
    const o = observe(proxy.url);
    const bulk = o.client.subscribe('tenant:t1:bulk');
    o.client.connect();
    await waitFor(() => bulk.state === 'subscribed', 'subscribed');

    // Detect the server dropping us: it releases the channel when it closes the connection.
    let released = false;
    const unsubscribe = gw.broker.unsubscribe.bind(gw.broker);
    gw.broker.unsubscribe = async (channel) => {
      if (channel === 'tenant:t1:bulk') released = true;
      return unsubscribe(channel);
    };
    proxy.stall();
    const big = 'x'.repeat(16 * 1024);
    let published = 0;
    while (!released && published < 4000) {
      await gw.publish('tenant:t1:bulk', 50, 'chunk', () => ({ big }));
      published += 50;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(released).toBe(true);
    await gw.publish('tenant:t1:bulk', 5, 'chunk', () => ({ big })); // after the close, before the client hears of it
    published += 5;
    proxy.resume();

    await waitFor(() => o.offsets('tenant:t1:bulk').length >= published, 'every event', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(o.offsets('tenant:t1:bulk')).toEqual(range(published));
    expect(o.reconnects.map((r) => r.code)).toContain(4009);
    expect(o.errors.map((e) => e.code)).toContain('SLOW_CONSUMER');
    expect(bulk.recovered).toBe(true);
    expect(o.stale).toEqual([]);
  });

  it('follows a deploy (1001 going away) to the new gateway and replays what was published meanwhile', async () => {
    const gw = await gatewayFor();
    const o = observe(gw.url);
    const feed = o.client.subscribe('tenant:t1:feed');
    o.client.connect();
    await waitFor(() => feed.state === 'subscribed', 'subscribed');
    await gw.publish('tenant:t1:feed', 3);
    await waitFor(() => o.offsets('tenant:t1:feed').length === 3, 'first events');

    await gw.redeploy();
    await waitFor(() => o.reconnects.length > 0, 'going away seen');
    await gw.publish('tenant:t1:feed', 3);
    gw.outage = false;
    await waitFor(() => o.offsets('tenant:t1:feed').length >= 6 && o.client.state === 'connected', 'replay');
    await gw.publish('tenant:t1:feed', 2);
    await waitFor(() => o.offsets('tenant:t1:feed').length >= 8, 'live after deploy');
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(o.reconnects[0]?.code).toBe(1001);
    expect(o.offsets('tenant:t1:feed')).toEqual(range(8));
    expect(feed.recovered).toBe(true);
    expect(o.stale).toEqual([]);
  });

  it('marks a channel stale when the server cannot replay the outage, and never shows a gap as data', async () => {
    const gw = await gatewayFor({ historySize: 3 });
    const o = observe(gw.url);
    const feed = o.client.subscribe('tenant:t1:feed');
    o.client.connect();
    await waitFor(() => feed.state === 'subscribed', 'subscribed');
    await gw.publish('tenant:t1:feed', 2);
    await waitFor(() => o.offsets('tenant:t1:feed').length === 2, 'first events');
    gw.outage = true;
    gw.killConnections();
    await waitFor(() => o.client.state === 'connecting', 'lost');
    await gw.publish('tenant:t1:feed', 10); // more than the history keeps
    gw.outage = false;
    await waitFor(() => o.stale.length > 0, 'stale');
    await gw.publish('tenant:t1:feed', 1);
    await waitFor(() => o.offsets('tenant:t1:feed').length >= 3, 'live after stale');
    expect(o.stale).toEqual([{ channel: 'tenant:t1:feed', reason: 'unrecoverable' }]);
    expect(feed.recovered).toBe(false);
    expect(o.offsets('tenant:t1:feed')).toEqual([1, 2, 13]); // nothing from the lost range is passed off as complete
  });
});
