import type { WelcomeFrame } from '@albatross/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GatewayOptions } from '../../src/gateway.js';
import { get, type Running, signToken, startGateway, TestClient } from '../support/harness.js';

/**
 * Recovery replays and the outbound budget (issue 9, D1 and D5): a replay is
 * paced by the socket, with or without permessage-deflate; the live events
 * held back meanwhile count against the budget, the replays of one subscribe
 * are bounded in time, and past either the client is closed 4009 and
 * resumes from its last event with nothing lost.
 */

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

const CHANNEL = 'user:u1:updates';
const BUDGET = 64 * 1024;
/** Event waits: a pass returns as soon as the condition holds; the bound only has to hold on a busy machine. */
const WAIT = { timeout: 15_000, interval: 10 };

function pauseReading(client: TestClient): { resume(): void } {
  const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  return { resume: () => socket.resume() };
}

async function start(options: Partial<GatewayOptions>): Promise<Running> {
  running = await startGateway({ slowConsumerBytes: BUDGET, historySize: 5000, ...options });
  return running;
}

async function publish(g: Running, count: number, bytes: number): Promise<void> {
  const payload = { blob: 'y'.repeat(bytes) };
  for (let i = 0; i < count; i++) await g.gateway.publish({ channel: CHANNEL, event_type: 'e', payload });
}

const slowConsumerCloses = async (g: Running): Promise<number> =>
  Number(/^albatross_slow_consumer_closes_total (\d+)$/m.exec(await g.gateway.metrics())?.[1] ?? 0);

/** The bytes the gateway holds queued for its only connection (admin API). */
async function queuedBytes(g: Running): Promise<number> {
  const body = (await get(g.httpUrl, '/api/connections')).body as { connections: Array<{ buffered_bytes: number }> };
  return body.connections[0]?.buffered_bytes ?? 0;
}

/** Connects as u1 and subscribes with `since`; returns the client once the ack is in. */
async function resume(g: Running, since: { offset: number; epoch: string } | null): Promise<TestClient> {
  const { client, welcome } = await TestClient.authed(g.wsUrl, await signToken());
  const epoch = since?.epoch ?? (welcome as WelcomeFrame).subscriptions.find((s) => s.channel === CHANNEL)?.epoch;
  client.send({
    type: 'subscribe',
    id: 1,
    channels: [{ channel: CHANNEL, since: { offset: since?.offset ?? 0, epoch } }],
  });
  return client;
}

/** Reads events until the close; returns their offsets. */
async function readUntilClosed(client: TestClient): Promise<{ offsets: number[]; code: number }> {
  const offsets: number[] = [];
  for (;;) {
    let frame: Awaited<ReturnType<TestClient['next']>>;
    try {
      frame = await client.next(undefined, WAIT.timeout);
    } catch {
      break;
    }
    if (frame.type === 'event') offsets.push(frame.offset);
  }
  return { offsets, code: (await client.waitClose()).code };
}

/**
 * Resumes from the last event seen until `total` events arrived; every
 * connection may be cut 4009 (then the next resumes). Returns every offset,
 * in arrival order, and how many connections it took.
 */
async function recoverAll(
  g: Running,
  first: number[],
  epoch: string,
  total: number,
): Promise<{ offsets: number[]; connections: number }> {
  const offsets = [...first];
  let connections = 0;
  while (offsets.length < total && connections < 200) {
    connections += 1;
    const client = await resume(g, { offset: offsets.at(-1) ?? 0, epoch });
    const ack = await client.next('ack');
    expect(ack).toMatchObject({ accepted: [{ channel: CHANNEL, recovered: true }] });
    while (offsets.length < total) {
      const frame = await client.next(undefined, WAIT.timeout).catch(() => null);
      if (frame === null) break;
      if (frame.type === 'event') offsets.push(frame.offset);
      else expect(frame.type).toBe('heartbeat');
    }
    if (client.closed) expect(client.closed.code).toBe(4009);
    client.close();
  }
  return { offsets, connections };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('a paced replay and the outbound budget', () => {
  it('live events held back during a replay count against the budget: over it, 4009 at once, and nothing is lost', async () => {
    const g = await start({});
    // Far more history than the kernel's socket buffers absorb: the replay has to wait for the reader.
    const history = 2000;
    await publish(g, history, 8 * 1024);
    const client = await resume(g, null);
    const reader = pauseReading(client);
    await vi.waitFor(async () => expect(await queuedBytes(g)).toBeGreaterThan(BUDGET / 2), WAIT);
    expect(await slowConsumerCloses(g)).toBe(0);

    // Live events while the replay waits: each is held back; the one that
    // takes the connection over its budget closes it, then and there.
    const live = 20;
    await publish(g, live, 4 * 1024);
    expect(await slowConsumerCloses(g)).toBe(1);

    reader.resume();
    expect(await client.next('ack')).toMatchObject({ accepted: [{ channel: CHANNEL, recovered: true }] });
    const cut = await readUntilClosed(client);
    expect(cut.code).toBe(4009);
    expect(cut.offsets.length).toBeGreaterThan(0);
    expect(cut.offsets.length).toBeLessThan(history);
    const epoch = (await g.gateway.history(CHANNEL, { limit: 1 })).epoch;
    const { offsets } = await recoverAll(g, cut.offsets, epoch, history + live);
    expect(offsets).toEqual(range(1, history + live));
  }, 60_000);

  it('the replays of one subscribe are bounded in time (--max-replay-ms): then 4009, and the client resumes', async () => {
    const g = await start({ maxReplayMs: 1000 });
    const history = 2000;
    await publish(g, history, 8 * 1024);
    const client = await resume(g, null);
    const reader = pauseReading(client);
    // A reader that reads nothing is cut at the replay bound, long before the 30 s close timeout.
    await vi.waitFor(async () => expect(await slowConsumerCloses(g)).toBe(1), WAIT);
    reader.resume();
    expect(await client.next('ack')).toMatchObject({ accepted: [{ channel: CHANNEL, recovered: true }] });
    const cut = await readUntilClosed(client);
    expect(cut.code).toBe(4009);
    expect(cut.offsets.length).toBeLessThan(history);
    const epoch = (await g.gateway.history(CHANNEL, { limit: 1 })).epoch;
    // Each later connection gets at most 1 s of replay, then resumes where it stopped: no loss, no duplicate.
    const { offsets } = await recoverAll(g, cut.offsets, epoch, history);
    expect(offsets).toEqual(range(1, history));
  }, 60_000);

  it.each([
    ['without extensions', false],
    ['with permessage-deflate', true],
  ])(
    'a client recovering more than the budget %s gets all of it without a 4009',
    async (_name, deflate) => {
      const g = await start({ perMessageDeflate: deflate });
      const history = 600;
      await publish(g, history, 4 * 1024);
      const client = await resume(g, null);
      expect(client.ws.extensions).toBe(deflate ? 'permessage-deflate' : '');
      expect(await client.next('ack')).toMatchObject({ accepted: [{ recovered: true, offset: history }] });
      const offsets: number[] = [];
      while (offsets.length < history) offsets.push((await client.next('event', WAIT.timeout)).offset);
      expect(offsets).toEqual(range(1, history));
      expect(client.closed).toBeNull();
      expect(await slowConsumerCloses(g)).toBe(0);
    },
    60_000,
  );
});
