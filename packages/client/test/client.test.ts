import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AlbatrossClient,
  type AlbatrossClientError,
  backoffDelay,
  type ClientOptions,
  ConnectionState,
  createClient,
  type RealtimeEvent,
  type StaleEvent,
  UnauthorizedError,
} from '../src/index.js';
import { FakeServer, FakeSignal, fakeJwt } from './support/fake-server.js';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

interface Setup {
  server: FakeServer;
  client: AlbatrossClient;
  network: FakeSignal;
  visibility: FakeSignal;
  states: string[];
  delays: Array<{ attempt: number; delayMs: number; code: number }>;
  errors: AlbatrossClientError[];
  events: RealtimeEvent[];
  stale: StaleEvent[];
  warnings: string[];
  tokens: () => number;
}

function setup(options: Partial<ClientOptions> = {}): Setup {
  const server = new FakeServer();
  const network = new FakeSignal(true);
  const visibility = new FakeSignal(true);
  let issued = 0;
  const warnings: string[] = [];
  const client = createClient({
    warn: (message) => warnings.push(message),
    url: 'ws://test/ws',
    WebSocket: server.WebSocket,
    getToken: () => {
      issued += 1;
      return fakeJwt(Math.floor(Date.now() / 1000) + 3600);
    },
    network,
    visibility,
    random: () => 0.5,
    ...options,
  });
  const s: Setup = {
    server,
    client,
    network,
    visibility,
    states: [],
    delays: [],
    errors: [],
    events: [],
    stale: [],
    warnings,
    tokens: () => issued,
  };
  client.on('state', ({ old, new: now }) => s.states.push(`${old}->${now}`));
  client.on('reconnecting', ({ attempt, delayMs, code }) => s.delays.push({ attempt, delayMs, code }));
  client.on('error', (error) => s.errors.push(error));
  client.on('event', (event) => s.events.push(event));
  client.on('stale', (event) => s.stale.push(event));
  return s;
}

const offsets = (events: RealtimeEvent[], channel?: string) =>
  events.filter((e) => channel === undefined || e.channel === channel).map((e) => e.offset);

let current: Setup | null = null;
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_700_000_000_000); // a whole second, so token exp math is exact
});
afterEach(() => {
  current?.client.disconnect();
  current = null;
  vi.useRealTimers();
});

async function connected(options: Partial<ClientOptions> = {}): Promise<Setup> {
  current = setup(options);
  current.client.connect();
  await advance(0);
  expect(current.client.state).toBe('connected');
  return current;
}

describe('backoffDelay', () => {
  it('doubles the cap from the minimum and never exceeds the maximum (full jitter)', () => {
    const caps = [0, 1, 2, 3, 4, 5, 6, 10, 50].map((n) => backoffDelay(n, 1000, 32_000, () => 0.999999));
    expect(caps).toEqual([999, 1999, 3999, 7999, 15_999, 31_999, 31_999, 31_999, 31_999]);
    expect(backoffDelay(7, 1000, 32_000, () => 0)).toBe(0);
  });
});

describe('connection state machine', () => {
  it('connects with a first-frame auth (no token in the URL) and emits each transition once', async () => {
    const s = await connected();
    expect(s.states).toEqual(['disconnected->connecting', 'connecting->connected']);
    expect(s.server.sockets).toHaveLength(1);
    expect(s.server.last.url).toBe('ws://test/ws');
    expect(s.server.last.sent[0]).toMatchObject({ type: 'auth' });
    expect(s.client.session).toEqual({ connectionId: 'c1', userId: 'u1', tenantId: 't1' });
    s.client.connect(); // no-op while connected
    expect(s.server.sockets).toHaveLength(1);
  });

  it('disconnect() is final: socket closed, state disconnected, no retry ever scheduled', async () => {
    const s = await connected();
    s.client.disconnect();
    expect(s.client.state).toBe('disconnected');
    expect(s.server.last.closedByClient).toBe(1000);
    await advance(120_000);
    expect(s.server.sockets).toHaveLength(1);
    expect(s.states.at(-1)).toBe('connected->disconnected');
    expect(s.network.watchers).toBe(0);
  });

  it('ignores late callbacks of an old socket (transport generation)', async () => {
    const s = await connected();
    const old = s.server.last;
    old.serverClose(1006);
    await advance(500); // 0.5 × 1000 ms
    expect(s.server.sockets).toHaveLength(2);
    expect(s.client.state).toBe('connected');
    const statesBefore = [...s.states];
    old.lateMessage({
      type: 'event',
      channel: 'tenant:t1:updates',
      offset: 1,
      epoch: 'e1',
      event_type: 'x',
      ts: 0,
      payload: 1,
    });
    old.lateClose(4003);
    await advance(60_000);
    expect(s.client.state).toBe('connected');
    expect(s.events).toEqual([]);
    expect(s.states).toEqual(statesBefore);
    expect(s.server.sockets).toHaveLength(2);
  });
});

describe('reconnect backoff', () => {
  it('grows 1 s → 32 s with full jitter, opens nothing early, and resets after a stable connection', async () => {
    const s = await connected({ stableAfterMs: 10_000 });
    s.server.refuseWith = 1006;
    s.server.last.serverClose(1006);
    const expected = [500, 1000, 2000, 4000, 8000, 16_000, 16_000];
    for (const [i, delay] of expected.entries()) {
      const sockets = s.server.sockets.length;
      expect(s.delays.at(-1)).toEqual({ attempt: i + 1, delayMs: delay, code: 1006 });
      await advance(delay - 1);
      expect(s.server.sockets).toHaveLength(sockets); // not a moment early
      await advance(1);
      expect(s.server.sockets).toHaveLength(sockets + 1);
    }
    expect(s.client.state).toBe('connecting');
    expect(s.client.attempt).toBe(expected.length + 1);
    s.server.refuseWith = null;
    await advance(16_000);
    expect(s.client.state).toBe('connected');
    // Up for longer than stableAfterMs: the next drop starts over at the minimum.
    await advance(10_000);
    s.server.last.serverClose(1006);
    expect(s.delays.at(-1)).toEqual({ attempt: 1, delayMs: 500, code: 1006 });
  });

  it('does not reset the backoff for a connection that dies right after welcome', async () => {
    const s = await connected();
    s.server.last.serverClose(1006);
    await advance(500);
    s.server.last.serverClose(1006);
    expect(s.delays.map((d) => d.delayMs)).toEqual([500, 1000]);
  });

  it('pauses while offline and retries at once when back online', async () => {
    const s = await connected();
    s.network.set(false);
    expect(s.client.state).toBe('connecting');
    expect(s.server.sockets[0]?.closedByClient).toBe(1000);
    await advance(300_000);
    expect(s.server.sockets).toHaveLength(1); // nothing tried while offline
    s.network.set(true);
    await advance(0);
    expect(s.server.sockets).toHaveLength(2);
    expect(s.client.state).toBe('connected');
  });

  it('retries at once when the page becomes visible during a backoff wait', async () => {
    const s = await connected();
    s.server.refuseWith = 1006;
    s.server.last.serverClose(1006);
    await advance(500);
    await advance(1000);
    s.server.refuseWith = null;
    expect(s.delays.at(-1)?.delayMs).toBe(2000);
    s.visibility.set(false);
    s.visibility.set(true);
    await advance(0);
    expect(s.client.state).toBe('connected');
  });

  it('pings on becoming visible and reconnects when the socket is silently dead', async () => {
    const s = await connected();
    s.visibility.set(true);
    expect(s.server.last.sent.at(-1)).toEqual({ type: 'ping' });
    s.visibility.set(false);
    s.server.receive = () => {}; // a dead socket: nothing answers any more
    s.visibility.set(true);
    await advance(4999);
    expect(s.client.state).toBe('connected');
    await advance(1);
    expect(s.errors.at(-1)?.code).toBe('TIMEOUT');
    expect(s.client.state).toBe('connecting');
  });
});

describe('heartbeat watchdog', () => {
  it('reconnects after 2× heartbeat_ms of silence, never before', async () => {
    const s = await connected();
    s.server.heartbeatMs = 1000;
    s.server.last.serverClose(1006);
    await advance(500);
    expect(s.client.state).toBe('connected');
    for (let i = 0; i < 10; i++) {
      await advance(1000);
      s.server.last.push({ type: 'heartbeat', ts: Date.now() });
    }
    expect(s.server.sockets).toHaveLength(2);
    await advance(1999);
    expect(s.client.state).toBe('connected');
    await advance(1);
    expect(s.client.state).toBe('connecting');
    expect(s.errors.at(-1)?.code).toBe('TIMEOUT');
    expect(s.server.sockets[1]?.closedByClient).toBe(1000);
  });

  it('gives up on a socket that never welcomes within connectTimeoutMs', async () => {
    current = setup({ connectTimeoutMs: 3000 });
    current.server.receive = () => {};
    current.client.connect();
    await advance(2999);
    expect(current.delays).toEqual([]);
    await advance(1);
    expect(current.errors.at(-1)?.code).toBe('TIMEOUT');
    expect(current.delays).toHaveLength(1);
  });
});

describe('close codes', () => {
  it('4003 stops for good in state error', async () => {
    const s = await connected();
    s.server.last.serverClose(4003, 'revoked');
    expect(s.client.state).toBe('error');
    expect(s.client.error?.code).toBe('FORBIDDEN');
    expect(s.client.error?.details.closeCode).toBe(4003);
    await advance(300_000);
    expect(s.server.sockets).toHaveLength(1);
    expect(s.network.watchers).toBe(0);
  });

  it('4001 fetches a fresh token and reconnects', async () => {
    const s = await connected();
    expect(s.tokens()).toBe(1);
    s.server.last.serverClose(4001, 'TOKEN_EXPIRED');
    expect(s.client.error?.code).toBe('UNAUTHORIZED');
    await advance(500);
    expect(s.tokens()).toBe(2);
    expect(s.client.state).toBe('connected');
  });

  it('1001 waits the server-named delay plus jitter', async () => {
    const s = await connected();
    s.server.last.serverClose(1001, JSON.stringify({ reconnect_after_ms: 2500 }));
    expect(s.delays.at(-1)).toEqual({ attempt: 1, delayMs: 3000, code: 1001 });
    await advance(2999);
    expect(s.server.sockets).toHaveLength(1);
    await advance(1);
    expect(s.client.state).toBe('connected');
  });

  it('4029 backs off longer than an ordinary drop', async () => {
    const s = await connected();
    s.server.last.serverClose(4029, 'CONNECTION_LIMIT');
    expect(s.delays.at(-1)?.delayMs).toBe(4000); // cap 8 s instead of 1 s
    expect(s.client.error?.code).toBe('CONNECTION_LIMIT');
  });

  it('a getToken that throws UnauthorizedError stops and reports it; other errors are retried', async () => {
    let mode: 'ok' | 'fail' | 'signed-out' = 'fail';
    current = setup({
      getToken: () => {
        if (mode === 'fail') throw new Error('network');
        if (mode === 'signed-out') throw new UnauthorizedError('signed out');
        return 'api-key';
      },
    });
    const s = current;
    s.client.connect();
    await advance(0);
    expect(s.client.state).toBe('connecting');
    expect(s.errors.at(-1)?.code).toBe('UNAVAILABLE');
    expect(s.server.sockets).toHaveLength(0);
    mode = 'signed-out';
    await advance(500);
    expect(s.client.state).toBe('error');
    expect(s.client.error).toBeInstanceOf(UnauthorizedError);
    expect(s.client.error?.code).toBe('UNAUTHORIZED');
    await advance(300_000);
    expect(s.server.sockets).toHaveLength(0);
    mode = 'ok';
    s.client.connect(); // the app signs in again
    await advance(0);
    expect(s.client.state).toBe('connected');
  });
});

describe('token refresh', () => {
  it('refreshes in-band before exp on the same socket, and keeps doing so', async () => {
    const s = await connected({
      refreshBeforeMs: 60_000,
      getToken: () => fakeJwt(Math.floor(Date.now() / 1000) + 300),
    });
    const refreshed: Array<number | undefined> = [];
    s.client.on('refreshed', ({ exp }) => refreshed.push(exp));
    await advance(239_999);
    expect(s.server.last.tokens).toHaveLength(1);
    await advance(1);
    expect(s.server.last.tokens).toHaveLength(2);
    expect(s.server.last.sent.at(-1)).toMatchObject({ type: 'auth', id: expect.any(Number) });
    expect(refreshed).toHaveLength(1);
    await advance(240_000);
    expect(s.server.last.tokens).toHaveLength(3);
    expect(s.server.sockets).toHaveLength(1);
    expect(s.states).toEqual(['disconnected->connecting', 'connecting->connected']);
  });

  it('a token shorter-lived than refreshBeforeMs refreshes at half its life, never in a tight loop', async () => {
    const s = await connected({ getToken: () => fakeJwt(Math.floor(Date.now() / 1000) + 10) });
    await advance(4999);
    expect(s.server.last.tokens).toHaveLength(1);
    await advance(1);
    expect(s.server.last.tokens).toHaveLength(2);
  });

  it('a refused refresh keeps the connection and tries again closer to exp', async () => {
    const s = await connected({ getToken: () => fakeJwt(Math.floor(Date.now() / 1000) + 300) });
    const receive = s.server.receive.bind(s.server);
    s.server.receive = (socket, frame) => {
      if (frame.type === 'auth' && socket.authed) {
        socket.tokens.push(frame.token);
        socket.push({
          type: 'error',
          code: 'RATE_LIMITED',
          message: 'slow down',
          ...(frame.id ? { id: frame.id } : {}),
        });
      } else receive(socket, frame);
    };
    await advance(240_000); // first refresh, refused
    expect(s.server.last.tokens).toHaveLength(2);
    expect(s.errors.at(-1)?.code).toBe('RATE_LIMITED');
    expect(s.client.state).toBe('connected');
    await advance(29_999); // half of the 60 s left
    expect(s.server.last.tokens).toHaveLength(2);
    await advance(1);
    expect(s.server.last.tokens).toHaveLength(3);
    expect(s.server.sockets).toHaveLength(1);
  });

  it('stops when getToken throws UnauthorizedError at refresh time', async () => {
    let signedOut = false;
    const s = await connected({
      getToken: () => {
        if (signedOut) throw new UnauthorizedError();
        return fakeJwt(Math.floor(Date.now() / 1000) + 300);
      },
    });
    signedOut = true;
    await advance(240_000);
    expect(s.client.state).toBe('error');
    expect(s.server.last.closedByClient).toBe(1000);
  });
});

describe('subscriptions and recovery', () => {
  it('subscribes wanted channels in one frame after welcome and delivers in order', async () => {
    current = setup();
    const s = current;
    const a = s.client.subscribe('tenant:t1:a');
    const b = s.client.subscribe('tenant:t1:b');
    expect(s.client.subscribe('tenant:t1:a')).toBe(a); // one object per channel
    expect(a.state).toBe('subscribing');
    s.client.connect();
    await advance(0);
    const subscribes = s.server.last.sent.filter((f) => f.type === 'subscribe');
    expect(subscribes).toHaveLength(1);
    expect(subscribes[0]).toMatchObject({ channels: [{ channel: 'tenant:t1:a' }, { channel: 'tenant:t1:b' }] });
    expect([a.state, b.state]).toEqual(['subscribed', 'subscribed']);
    const got: number[] = [];
    a.on('event', (e) => got.push(e.offset));
    for (let i = 0; i < 3; i++) s.server.publish('tenant:t1:a');
    s.server.publish('tenant:t1:b');
    expect(got).toEqual([1, 2, 3]);
    expect(offsets(s.events, 'tenant:t1:b')).toEqual([1]);
  });

  it('resubscribes with since after a reconnect and replays what was missed, without loss or duplicates', async () => {
    const s = await connected();
    const sub = s.client.subscribe('tenant:t1:a');
    await advance(0);
    s.server.publish('tenant:t1:a');
    s.server.publish('tenant:t1:a');
    s.server.last.serverClose(1006);
    expect(sub.state).toBe('subscribing');
    s.server.publish('tenant:t1:a'); // during the outage
    s.server.publish('tenant:t1:a');
    await advance(500);
    expect(s.server.subscribeLog.at(-1)).toEqual({ channel: 'tenant:t1:a', since: { offset: 2, epoch: 'e2' } });
    s.server.publish('tenant:t1:a');
    expect(offsets(s.events, 'tenant:t1:a')).toEqual([1, 2, 3, 4, 5]);
    expect(sub.recovered).toBe(true);
    expect(s.stale).toEqual([]);
  });

  it('emits stale when recovery is impossible, then continues from the new position', async () => {
    const s = await connected();
    const sub = s.client.subscribe('tenant:t1:a');
    await advance(0);
    const stale: StaleEvent[] = [];
    sub.on('stale', (e) => stale.push(e));
    s.server.publish('tenant:t1:a');
    s.server.last.serverClose(1006);
    s.server.resetEpoch('tenant:t1:a');
    s.server.publish('tenant:t1:a');
    await advance(500);
    expect(sub.recovered).toBe(false);
    expect(stale).toEqual([{ channel: 'tenant:t1:a', reason: 'unrecoverable' }]);
    expect(s.stale).toEqual(stale);
    s.server.publish('tenant:t1:a');
    expect(s.events.map((e) => [e.epoch, e.offset])).toEqual([
      ['e2', 1],
      ['e3', 2],
    ]);
  });

  it('recovers baseline channels whose welcome position moved while away', async () => {
    const s = await connected();
    s.server.publish('tenant:t1:updates');
    s.server.last.serverClose(1006);
    s.server.publish('tenant:t1:updates');
    s.server.publish('tenant:t1:updates');
    s.server.autoAck = false;
    await advance(500);
    const socket = s.server.last;
    const frame = socket.sent.find((f) => f.type === 'subscribe');
    expect(frame).toMatchObject({ channels: [{ channel: 'tenant:t1:updates', since: { offset: 1 } }] });
    // The server is already live on the baseline channel: a live event before the ack must not be delivered out of order.
    s.server.publish('tenant:t1:updates');
    expect(offsets(s.events)).toEqual([1]);
    if (frame?.type !== 'subscribe') throw new Error('no subscribe');
    s.server.ack(socket, frame);
    expect(offsets(s.events)).toEqual([1, 2, 3, 4]);
    expect(s.stale).toEqual([]);
  });

  it('keeps an unchanged baseline channel without a subscribe round trip', async () => {
    const s = await connected();
    s.server.publish('tenant:t1:updates');
    s.server.last.serverClose(1006);
    await advance(500);
    expect(s.server.last.sent.filter((f) => f.type === 'subscribe')).toEqual([]);
    expect(s.client.getSubscription('tenant:t1:updates')?.recovered).toBe(true);
    s.server.publish('tenant:t1:updates');
    expect(offsets(s.events)).toEqual([1, 2]);
  });
});

describe('client-side gap check', () => {
  it('never delivers out of order: a skipped offset triggers recovery of that channel only', async () => {
    const s = await connected();
    s.client.subscribe('tenant:t1:a');
    await advance(0);
    const socket = s.server.last;
    const ev = (offset: number) =>
      ({
        type: 'event',
        channel: 'tenant:t1:a',
        offset,
        epoch: 'e2',
        event_type: 'x',
        ts: 0,
        payload: offset,
      }) as const;
    // The server's history has 1..4; the live stream loses 3.
    for (let i = 0; i < 4; i++) s.server.channel('tenant:t1:a').events.push(ev(i + 1));
    s.server.channel('tenant:t1:a').offset = 4;
    socket.push(ev(1));
    socket.push(ev(2));
    socket.push(ev(4));
    expect(offsets(s.events)).toEqual([1, 2]); // 4 held back, never delivered before 3
    socket.push(ev(5)); // more out-of-order events while the recovery is queued: dropped too
    await advance(0);
    expect(offsets(s.events)).toEqual([1, 2, 3, 4]); // 3 and 4 replayed by the recovery
    expect(s.server.subscribeLog.at(-1)).toEqual({ channel: 'tenant:t1:a', since: { offset: 2, epoch: 'e2' } });
    socket.push(ev(4)); // late duplicate
    socket.push(ev(2));
    expect(offsets(s.events)).toEqual([1, 2, 3, 4]);
    expect(s.stale).toEqual([]);
  });

  it('recoveries of several channels found in one tick share one subscribe frame', async () => {
    const s = await connected();
    s.client.subscribe('tenant:t1:a');
    s.client.subscribe('tenant:t1:b');
    await advance(0);
    const before = s.server.last.sent.filter((f) => f.type === 'subscribe').length;
    for (const channel of ['tenant:t1:a', 'tenant:t1:b']) {
      const { epoch } = s.server.position(channel);
      s.server.last.push({ type: 'event', channel, offset: 3, epoch, event_type: 'x', ts: 0, payload: 3 });
    }
    await advance(0);
    const frames = s.server.last.sent.filter((f) => f.type === 'subscribe');
    expect(frames).toHaveLength(before + 1);
    expect(frames.at(-1)).toMatchObject({
      channels: [
        { channel: 'tenant:t1:a', since: { offset: 0 } },
        { channel: 'tenant:t1:b', since: { offset: 0 } },
      ],
    });
    expect(s.events).toEqual([]);
  });

  it('a gap frame marks the channel stale and resumes after it', async () => {
    const s = await connected();
    const sub = s.client.subscribe('tenant:t1:a');
    await advance(0);
    s.server.publish('tenant:t1:a');
    s.server.last.push({ type: 'gap', channel: 'tenant:t1:a', epoch: 'e2', offset: 7 });
    s.server.last.push({
      type: 'event',
      channel: 'tenant:t1:a',
      offset: 7,
      epoch: 'e2',
      event_type: 'x',
      ts: 0,
      payload: 7,
    });
    expect(s.stale).toEqual([{ channel: 'tenant:t1:a', reason: 'gap' }]);
    expect(offsets(s.events)).toEqual([1, 7]);
    expect(sub.position).toEqual({ offset: 7, epoch: 'e2' });
  });

  it('an epoch change without a gap frame is reported stale, not silently accepted', async () => {
    const s = await connected();
    s.server.publish('tenant:t1:updates');
    s.server.last.push({
      type: 'event',
      channel: 'tenant:t1:updates',
      offset: 1,
      epoch: 'other',
      event_type: 'x',
      ts: 0,
      payload: 1,
    });
    expect(s.stale).toEqual([{ channel: 'tenant:t1:updates', reason: 'epoch' }]);
    expect(s.events.map((e) => e.epoch)).toEqual(['e1', 'other']);
  });
});

describe('subscription lifecycle', () => {
  it('unsubscribe stops delivery and tells the server; a baseline channel stays dropped after reconnect', async () => {
    const s = await connected();
    const baseline = s.client.getSubscription('tenant:t1:updates');
    expect(baseline?.serverSide).toBe(true);
    baseline?.unsubscribe();
    expect(baseline?.state).toBe('unsubscribed');
    expect(s.server.last.sent.at(-1)).toMatchObject({ type: 'unsubscribe', channels: ['tenant:t1:updates'] });
    s.server.last.push({
      type: 'event',
      channel: 'tenant:t1:updates',
      offset: 1,
      epoch: 'e1',
      event_type: 'x',
      ts: 0,
      payload: 1,
    });
    expect(s.events).toEqual([]);
    s.server.last.serverClose(1006);
    await advance(500);
    expect(s.server.last.sent.at(-1)).toMatchObject({ type: 'unsubscribe', channels: ['tenant:t1:updates'] });
  });

  it('a forbidden channel ends in state error with the error; an unavailable one is retried', async () => {
    const s = await connected();
    s.server.autoAck = false;
    const denied = s.client.subscribe('tenant:t2:a');
    const flaky = s.client.subscribe('tenant:t1:flaky');
    const errors: string[] = [];
    denied.on('error', (e) => errors.push(e.code));
    await advance(0);
    const frames = s.server.last.sent.filter((f) => f.type === 'subscribe');
    expect(frames).toHaveLength(1); // same tick: one frame
    const frame = frames[0];
    if (frame?.type !== 'subscribe') throw new Error('no subscribe');
    expect(frame.channels).toEqual([{ channel: 'tenant:t2:a' }, { channel: 'tenant:t1:flaky' }]);
    s.server.last.push({
      type: 'ack',
      id: frame.id,
      accepted: [],
      rejected: [
        { channel: 'tenant:t2:a', code: 'FORBIDDEN', message: 'no' },
        { channel: 'tenant:t1:flaky', code: 'UNAVAILABLE', message: 'later' },
      ],
    });
    expect(denied.state).toBe('error');
    expect(denied.error?.code).toBe('FORBIDDEN');
    expect(denied.error?.details.channel).toBe('tenant:t2:a');
    expect(errors).toEqual(['FORBIDDEN']);
    expect(s.client.getSnapshot().error?.code).toBe('UNAVAILABLE'); // the last one
    expect(flaky.state).toBe('subscribing');
    s.server.autoAck = true;
    await advance(1000);
    expect(flaky.state).toBe('subscribed');
    // Kept, so hooks and getSubscription can show why.
    expect(s.client.getSubscription('tenant:t2:a')).toBe(denied);
    expect(s.client.subscribe('tenant:t2:a')).toBe(denied);
    expect(denied.state).toBe('error');
    // Not asked for again, neither by a retry nor after a reconnect...
    const asked = () => s.server.subscribeLog.filter((e) => (typeof e === 'string' ? e : e.channel) === 'tenant:t2:a');
    expect(asked()).toHaveLength(1);
    s.server.last.serverClose(1006);
    await advance(5000);
    expect(s.client.state).toBe('connected');
    expect(asked()).toHaveLength(1);
    expect(denied.state).toBe('error');
    // ...and the connected snapshot still says why the channel is dead.
    expect(s.client.getSnapshot().error?.details.channel).toBe('tenant:t2:a');
    // Only an explicit subscribe() asks again.
    denied.subscribe();
    await advance(0);
    expect(asked()).toHaveLength(2);
    expect(denied.state).toBe('subscribed');
    expect(denied.error).toBeNull();
  });

  it('ignores an ack for a superseded request', async () => {
    const s = await connected();
    s.server.autoAck = false;
    const sub = s.client.subscribe('tenant:t1:a');
    await advance(0);
    const frame = s.server.last.sent.at(-1);
    sub.unsubscribe();
    if (frame?.type !== 'subscribe') throw new Error('no subscribe');
    s.server.ack(s.server.last, frame);
    expect(sub.state).toBe('unsubscribed');
  });

  it('a listener that throws does not break delivery to the others', async () => {
    const s = await connected();
    const sub = s.client.subscribe('tenant:t1:a');
    await advance(0);
    sub.on('event', () => {
      throw new Error('app bug');
    });
    const got: number[] = [];
    sub.on('event', (e) => got.push(e.offset));
    s.server.publish('tenant:t1:a');
    s.server.publish('tenant:t1:a');
    expect(got).toEqual([1, 2]);
    await expect(advance(0)).rejects.toThrow('app bug');
  });

  it('onEvent filters by event type', async () => {
    const s = await connected();
    const sub = s.client.subscribe('tenant:t1:a');
    await advance(0);
    const created: unknown[] = [];
    sub.onEvent('user.created', (payload) => created.push(payload));
    s.server.publish('tenant:t1:a', 'user.created', { id: 'u7' });
    s.server.publish('tenant:t1:a', 'user.deleted', { id: 'u8' });
    expect(created).toEqual([{ id: 'u7' }]);
  });
});

describe('state enum', () => {
  it('exports the four states', () => {
    expect(Object.values(ConnectionState)).toEqual(['disconnected', 'connecting', 'connected', 'error']);
  });
});

describe('failures a newcomer must be told about', () => {
  it('a rejected subscription warns once per (code, channel), with both, however often it happens', async () => {
    const s = await connected();
    s.server.autoAck = false;
    const reject = (channel: string, code: 'FORBIDDEN') => {
      const frame = s.server.last.sent.filter((f) => f.type === 'subscribe').at(-1);
      if (frame?.type !== 'subscribe') throw new Error('no subscribe');
      s.server.last.push({ type: 'ack', id: frame.id, accepted: [], rejected: [{ channel, code, message: 'no' }] });
    };
    const sub = s.client.subscribe('tenant:t2:updates');
    await advance(0);
    reject('tenant:t2:updates', 'FORBIDDEN');
    sub.subscribe(); // the app asks again: same answer, no second warning
    await advance(0);
    reject('tenant:t2:updates', 'FORBIDDEN');
    s.client.subscribe('tenant:t3:updates');
    await advance(0);
    reject('tenant:t3:updates', 'FORBIDDEN');
    expect(s.errors.map((e) => e.code)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(s.warnings).toHaveLength(2);
    expect(s.warnings[0]).toMatch(/^\[albatross\] FORBIDDEN on channel "tenant:t2:updates": no\. .*not retried/);
    expect(s.warnings[1]).toContain('"tenant:t3:updates"');
  });

  it('warns on the console by default in development, and never in production or with warn: false', async () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const env = process.env.NODE_ENV;
    try {
      for (const [nodeEnv, warn, expected] of [
        ['development', undefined, 1],
        ['test', undefined, 1],
        ['production', undefined, 0],
        ['development', false, 0],
      ] as const) {
        spy.mockClear();
        process.env.NODE_ENV = nodeEnv;
        const server = new FakeServer();
        server.refuseWith = 1006;
        const client = createClient({
          url: 'ws://test/ws',
          WebSocket: server.WebSocket,
          getToken: () => 'a.b.c',
          network: new FakeSignal(true),
          visibility: new FakeSignal(true),
          random: () => 0.5,
          ...(warn === undefined ? {} : { warn }),
        });
        client.connect();
        await advance(10_000); // several refused attempts
        expect(server.sockets.length).toBeGreaterThan(2);
        client.disconnect();
        expect(spy).toHaveBeenCalledTimes(expected);
        if (expected) expect(String(spy.mock.calls[0]?.[0])).toContain('TRANSPORT');
      }
    } finally {
      process.env.NODE_ENV = env;
      spy.mockRestore();
    }
  });

  it('an HTML page from getToken is a configuration error: state error, a clear message, no retry loop', async () => {
    const html = '<!doctype html><html><head><script type="module" src="/@vite/client"></script></head></html>';
    const s = setup({ getToken: () => html });
    current = s;
    s.client.connect();
    await advance(0);
    expect(s.client.state).toBe('error');
    const error = s.client.getSnapshot().error;
    expect(error?.code).toBe('CONFIG');
    expect(error?.message).toBe('getToken() returned an HTML page instead of a token');
    expect(error?.details.hint).toContain('r.ok');
    await advance(300_000);
    expect(s.server.sockets).toHaveLength(0); // never sent the page as a token
    expect(s.delays).toEqual([]);
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toContain('CONFIG: getToken() returned an HTML page');
  });

  it('JSON, empty and spaced answers are refused the same way; an API key or JWT is not', async () => {
    for (const [token, message] of [
      ['{"token":"a.b.c"}', 'getToken() returned JSON instead of a token'],
      ['', 'getToken() returned an empty token'],
      ['Cannot GET /api/rt-token', 'getToken() returned something that is not a token (JWT or API key)'],
    ] as const) {
      const s = setup({ getToken: () => token });
      s.client.connect();
      await advance(0);
      expect(s.client.state).toBe('error');
      expect(s.client.error?.message).toBe(message);
      expect(s.server.sockets).toHaveLength(0);
    }
    for (const token of ['ak_0123456789abcdefABCDEF', fakeJwt(1_700_003_600)]) {
      const s = setup({ getToken: () => token });
      s.client.connect();
      await advance(0);
      expect(s.client.state).toBe('connected');
      expect(s.server.last.tokens).toEqual([token]);
      s.client.disconnect();
    }
  });

  it('a refused upgrade puts TRANSPORT, the close code and what to check in the snapshot while retrying', async () => {
    const s = setup();
    current = s;
    s.server.refuseWith = 1006;
    s.client.connect();
    await advance(0);
    const snapshot = s.client.getSnapshot();
    expect(snapshot.state).toBe('connecting');
    expect(snapshot.attempt).toBe(1);
    expect(snapshot.error?.code).toBe('TRANSPORT');
    expect(snapshot.error?.message).toBe('could not open a WebSocket to ws://test/ws');
    expect(snapshot.error?.details.closeCode).toBe(1006);
    expect(snapshot.error?.details.hint).toContain('`ws: true`');
    expect(snapshot.error?.details.hint).toContain('--allowed-origins');
    // Once in the server's hands, the snapshot is clean again.
    s.server.refuseWith = null;
    await advance(2000);
    expect(s.client.getSnapshot()).toMatchObject({ state: 'connected', error: null });
  });

  it('a getToken that throws says what it threw, and is retried', async () => {
    let calls = 0;
    const s = setup({
      getToken: () => {
        calls += 1;
        if (calls === 1) throw new Error('token endpoint answered 404');
        return fakeJwt(1_700_003_600);
      },
    });
    current = s;
    s.client.connect();
    await advance(0);
    expect(s.client.getSnapshot().error?.message).toBe('getToken() failed: token endpoint answered 404');
    expect(s.client.state).toBe('connecting');
    await advance(2000);
    expect(s.client.state).toBe('connected');
  });
});
