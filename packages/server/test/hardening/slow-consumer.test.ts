import type { EventFrame } from '@albatross/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type Running, signToken, startGateway, TestClient } from '../support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

function pauseReading(client: TestClient): { resume(): void } {
  const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  return { resume: () => socket.resume() };
}

describe('slow consumer', () => {
  it('closes a client that stops reading with 4009, which then reconnects and recovers with no loss', async () => {
    running = await startGateway({ slowConsumerBytes: 64 * 1024, historySize: 5000 });
    const token = await signToken();
    const { client } = await TestClient.authed(running.wsUrl, token);
    const reader = pauseReading(client);
    const payload = { blob: 'x'.repeat(16 * 1024) };
    let published = 0;
    const cutOff = async () =>
      /^albatross_slow_consumer_closes_total 1$/m.test((await running?.gateway.metrics()) ?? '');
    // Publish until the server gives up on the client (bounded count).
    while (published < 3000) {
      await running.gateway.publish({ channel: 'user:u1:updates', event_type: 'big', payload });
      published += 1;
      if (published % 25 === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (await cutOff()) break;
      }
    }
    expect(await cutOff()).toBe(true);
    // More publications after the close must not reach the dead connection.
    for (let i = 0; i < 20; i++) {
      await running.gateway.publish({ channel: 'user:u1:updates', event_type: 'big', payload });
      published += 1;
    }
    reader.resume();
    const closed = await client.waitClose(35_000);
    expect(closed.code).toBe(4009);
    const received = client.frames.filter((f): f is EventFrame => f.type === 'event');
    const offsets = received.map((f) => f.offset);
    expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i + 1));
    expect(offsets.length).toBeLessThan(published);
    const last = received.at(-1);
    expect(last).toBeDefined();

    // Reconnect and resume from the last event seen.
    const again = await TestClient.authed(running.wsUrl, token);
    again.client.send({
      type: 'subscribe',
      id: 1,
      channels: [{ channel: 'user:u1:updates', since: { offset: last?.offset ?? 0, epoch: last?.epoch ?? '' } }],
    });
    const ack = await again.client.next('ack');
    expect(ack).toMatchObject({ accepted: [{ channel: 'user:u1:updates', recovered: true, offset: published }] });
    const replayed: number[] = [];
    while (replayed.length < published - offsets.length)
      replayed.push((await again.client.next('event', 10_000)).offset);
    expect([...offsets, ...replayed]).toEqual(Array.from({ length: published }, (_, i) => i + 1));
    expect(await again.client.quiet()).toEqual([]);
  });
});
