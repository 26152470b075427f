import type { EventFrame } from '@albatross/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Running, signToken, startGateway, TestClient } from '../support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

describe('chaos: bad clients do not hurt a healthy one', () => {
  it('a slow reader, a flooder and a never-authenticating client run beside a healthy client that gets every event in order', async () => {
    running = await startGateway({
      rateLimit: { burst: 10, perMs: 10_000 },
      slowConsumerBytes: 32 * 1024,
      authTimeoutMs: 2000, // the healthy and slow clients must authenticate in time even on a loaded machine
    });
    const url = running.wsUrl;
    const stopAt = Date.now() + 20_000;
    let stop = false;

    // Healthy client.
    const healthy = await TestClient.authed(url, await signToken({ sub: 'healthy' }));

    // Slow reader: authenticates, then never reads again.
    const slow = await TestClient.authed(url, await signToken({ sub: 'slow' }));
    (slow.client.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    // Never-authenticating clients, opened again and again.
    let silentClosedWith4001 = 0;
    const silentLoop = (async () => {
      for (let i = 0; i < 20 && !stop && Date.now() < stopAt; i++) {
        const client = await TestClient.connect(url).catch(() => null);
        if (!client) continue;
        const closed = await client.waitClose(3000).catch(() => null);
        if (closed?.code === 4001) silentClosedWith4001 += 1;
      }
    })();

    // Flooder: pings as fast as the socket takes them, reconnecting when closed.
    let flooderClosedWith4008 = 0;
    const flooderToken = await signToken({ sub: 'flooder' });
    const floodLoop = (async () => {
      for (let round = 0; round < 10 && !stop && Date.now() < stopAt; round++) {
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${flooderToken}` } });
        ws.on('error', () => {});
        await new Promise<void>((resolve) => {
          ws.on('open', () => {
            for (let i = 0; i < 5000 && ws.readyState === WebSocket.OPEN; i++) ws.send('{"type":"ping"}');
          });
          ws.on('close', (code) => {
            if (code === 4008) flooderClosedWith4008 += 1;
            resolve();
          });
        });
      }
    })();

    // Publications to the tenant channel everyone holds.
    const total = 400;
    for (let i = 1; i <= total; i++) {
      await running.gateway.publish({
        channel: 'tenant:t1:updates',
        event_type: 'tick',
        payload: { i, pad: 'p'.repeat(16 * 1024) },
      });
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const received: EventFrame[] = [];
    while (received.length < total) received.push(await healthy.client.next('event', 10_000));
    stop = true;
    await Promise.all([silentLoop, floodLoop]);

    expect(received.map((e) => e.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(received.map((e) => (e.payload as { i: number }).i)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(healthy.client.closed).toBeNull();
    expect(silentClosedWith4001).toBeGreaterThan(0);
    expect(flooderClosedWith4008).toBeGreaterThan(0);
    // The slow reader was cut off instead of buffering without bound.
    (slow.client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.client.waitClose(35_000)).code).toBe(4009);
  }, 60_000);
});
