import type { ErrorFrame, HeartbeatFrame, ServerFrame } from '@albatross/protocol';
import { describe, expect, it } from 'vitest';
import { signToken, TestClient, useGateways } from '../support/harness.js';

const env = useGateways();

async function authed(url: string, claims: Parameters<typeof signToken>[0] = {}): Promise<TestClient> {
  const { client } = await TestClient.authed(url, await signToken(claims));
  return env.track(client);
}

/** Sends each frame and returns the one answer each got, in order. */
async function answers(client: TestClient, frames: unknown[]): Promise<ServerFrame[]> {
  for (const frame of frames) client.send(frame);
  return client.sync();
}

describe('malformed frames are answered and never close a healthy connection', () => {
  it('invalid JSON and non-object JSON: INVALID_MESSAGE without id', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const got = await answers(client, ['{"type":"ping",', 'hello', '', '[]', 'null', '42', '"ping"', '{"id":3}']);
    expect(got).toHaveLength(8);
    for (const frame of got.slice(0, 7)) {
      expect(frame.type).toBe('error');
      expect((frame as ErrorFrame).code).toBe('INVALID_MESSAGE');
      expect(frame).not.toHaveProperty('id');
    }
    expect(got[7]).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE', id: 3 });
    expect(client.closed).toBeNull();
  });

  it('unknown type: UNKNOWN_TYPE with the id echoed', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const got = await answers(client, [
      { type: 'publish', id: 21, channel: 'tenant:t1:updates', payload: 1 },
      { type: 'welcome', id: 22 },
      { type: 'toString', id: 23 },
      { type: 'Ping' },
    ]);
    expect(got).toEqual([
      { type: 'error', code: 'UNKNOWN_TYPE', message: expect.any(String), id: 21 },
      { type: 'error', code: 'UNKNOWN_TYPE', message: expect.any(String), id: 22 },
      { type: 'error', code: 'UNKNOWN_TYPE', message: expect.any(String), id: 23 },
      { type: 'error', code: 'UNKNOWN_TYPE', message: expect.any(String) },
    ]);
    // A publish frame from a client published nothing.
    expect((await g.gateway.history('tenant:t1:updates')).offset).toBe(0);
  });

  it('wrong field types: INVALID_MESSAGE, id echoed when it is valid, nothing subscribed', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const got = await answers(client, [
      { type: 'subscribe', id: 1, channels: 'tenant:t1:a' },
      { type: 'subscribe', id: 2, channels: [5] },
      { type: 'subscribe', id: 3, channels: [] },
      { type: 'subscribe', id: '4', channels: ['tenant:t1:a'] },
      { type: 'subscribe', channels: ['tenant:t1:a'] },
      { type: 'subscribe', id: 6, channels: [{ channel: 'tenant:t1:a', since: { offset: -1, epoch: 'e' } }] },
      { type: 'subscribe', id: 7, channels: [{ channel: 'tenant:t1:a', since: { offset: 1 } }] },
      { type: 'subscribe', id: 8, channels: [`tenant:t1:${'x'.repeat(2000)}`] },
      { type: 'subscribe', id: 9, channels: Array.from({ length: 257 }, (_, i) => `tenant:t1:c${i}`) },
      { type: 'unsubscribe', id: 10, channels: 'tenant:t1:updates' },
      { type: 'unsubscribe', channels: ['tenant:t1:updates'] },
      { type: 'auth', id: 12, token: 42 },
      { type: 'auth', id: 13 },
      { type: 'ping', id: 'x' },
      { type: 'ping', id: -1 },
      { type: 'ping', id: 1.5 },
    ]);
    expect(got.map((f) => [f.type, (f as ErrorFrame).code, (f as ErrorFrame).id])).toEqual([
      ['error', 'INVALID_MESSAGE', 1],
      ['error', 'INVALID_MESSAGE', 2],
      ['error', 'INVALID_MESSAGE', 3],
      ['error', 'INVALID_MESSAGE', undefined],
      ['error', 'INVALID_MESSAGE', undefined],
      ['error', 'INVALID_MESSAGE', 6],
      ['error', 'INVALID_MESSAGE', 7],
      ['error', 'INVALID_MESSAGE', 8],
      ['error', 'INVALID_MESSAGE', 9],
      ['error', 'INVALID_MESSAGE', 10],
      ['error', 'INVALID_MESSAGE', undefined],
      ['error', 'INVALID_MESSAGE', 12],
      ['error', 'INVALID_MESSAGE', 13],
      ['error', 'INVALID_MESSAGE', undefined],
      ['error', 'INVALID_MESSAGE', undefined],
      ['error', 'INVALID_MESSAGE', undefined],
    ]);
    // Nothing got subscribed or unsubscribed by any of them.
    await g.gateway.publish({ channels: ['tenant:t1:a', 'tenant:t1:updates'], event_type: 'x', payload: 1 });
    const after = await client.sync();
    expect(after.map((f) => (f.type === 'event' ? f.channel : f.type))).toEqual(['tenant:t1:updates']);
  });

  it('binary frames: INVALID_MESSAGE, the connection stays usable', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.sendBinary(new Uint8Array([0x7b, 0x7d]));
    client.sendBinary(Buffer.from(JSON.stringify({ type: 'ping', id: 1 })));
    client.sendBinary(new Uint8Array(0));
    const got = await client.sync();
    expect(got).toEqual([
      { type: 'error', code: 'INVALID_MESSAGE', message: expect.any(String) },
      { type: 'error', code: 'INVALID_MESSAGE', message: expect.any(String) },
      { type: 'error', code: 'INVALID_MESSAGE', message: expect.any(String) },
    ]);
    await g.gateway.publish({ channel: 'user:u1:updates', event_type: 'x', payload: 'ok' });
    expect((await client.next('event')).payload).toBe('ok');
  });

  it('answers in the order frames were sent', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const got = await answers(client, [
      'garbage',
      { type: 'ping', id: 1 },
      { type: 'nope', id: 2 },
      { type: 'subscribe', id: 3, channels: ['tenant:t1:z'] },
      { type: 'ping', id: 4 },
      { type: 'unsubscribe', id: 5, channels: ['tenant:t1:z'] },
    ]);
    expect(got.map((f) => [f.type, (f as { id?: number }).id])).toEqual([
      ['error', undefined],
      ['pong', 1],
      ['error', 2],
      ['ack', 3],
      ['pong', 4],
      ['ack', 5],
    ]);
  });
});

describe('frames the transport refuses', () => {
  it('a frame over max-frame-bytes closes 1009', async () => {
    const g = await env.start({ maxFrameBytes: 1024 });
    const client = await authed(g.wsUrl);
    client.send({ type: 'ping', id: 1, pad: 'x'.repeat(900) }); // under the limit: fine
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
    client.send({ type: 'ping', id: 2, pad: 'x'.repeat(1100) });
    expect((await client.waitClose()).code).toBe(1009);
    expect(client.frames).toEqual([]);
    // The server is fine.
    const other = await authed(g.wsUrl);
    expect(await other.sync()).toEqual([]);
  });

  it('the default max frame size is 64 KiB', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.send({ type: 'ping', id: 1, pad: 'x'.repeat(60 * 1024) });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
    client.send({ type: 'ping', id: 2, pad: 'x'.repeat(64 * 1024) });
    expect((await client.waitClose()).code).toBe(1009);
  });

  it('a text frame that is not valid UTF-8 closes 1007', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.sendTextBytes(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])); // {"\xff\xfe"}
    expect((await client.waitClose()).code).toBe(1007);
    expect(client.frames).toEqual([]);
    expect((await fetch(`${g.httpUrl}/live`)).status).toBe(200);
  });

  it('a lone surrogate encoded as UTF-8 (CESU) also closes 1007', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.sendTextBytes(Buffer.from([0xed, 0xa0, 0x80]));
    expect((await client.waitClose()).code).toBe(1007);
  });
});

describe('ping, pong and heartbeats', () => {
  it('pong echoes the id; without an id, the pong has none', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.send({ type: 'ping', id: 0 });
    expect(await client.next()).toEqual({ type: 'pong', id: 0 });
    client.send({ type: 'ping', id: 77 });
    expect(await client.next()).toEqual({ type: 'pong', id: 77 });
    client.send({ type: 'ping' });
    const bare = await client.next();
    expect(bare).toEqual({ type: 'pong' });
  });

  it('sends heartbeat frames every heartbeat_ms to authenticated connections only', async () => {
    const g = await env.start({ heartbeatMs: 100, authTimeoutMs: 60_000 });
    const unauthenticated = env.track(await TestClient.connect(g.wsUrl));
    const { client, welcome } = await TestClient.authed(g.wsUrl, await signToken());
    env.track(client);
    expect(welcome).toMatchObject({ heartbeat_ms: 100 });
    const beats: HeartbeatFrame[] = [];
    while (beats.length < 3) beats.push(await client.next('heartbeat', 5000));
    for (const beat of beats) {
      expect(Object.keys(beat).sort()).toEqual(['ts', 'type']);
      expect(Math.abs(beat.ts - Date.now())).toBeLessThan(60_000);
    }
    expect(beats[1]?.ts).toBeGreaterThan(beats[0]?.ts ?? Number.POSITIVE_INFINITY);
    expect(unauthenticated.frames).toEqual([]);
    expect(unauthenticated.closed).toBeNull();
  });
});
