import { afterEach, describe, expect, it } from 'vitest';
import { type Running, signToken, startGateway, TestClient } from '../support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

describe('hostile frames within the size limit', () => {
  it('deeply nested and huge-but-allowed JSON is answered with an error and never stalls others', async () => {
    running = await startGateway({ maxFrameBytes: 256 * 1024 });
    const { client } = await TestClient.authed(running.wsUrl, await signToken());
    const other = await TestClient.authed(running.wsUrl, await signToken({ sub: 'u2' }));
    const deep = `{"type":"subscribe","id":1,"channels":${'['.repeat(60_000)}${']'.repeat(60_000)}}`;
    client.send(deep);
    expect(await client.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', id: 1 });
    const wide = JSON.stringify({ type: 'ping', id: 2, junk: Array.from({ length: 20_000 }, (_, i) => ({ k: i })) });
    client.send(wide);
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 2 });
    const manyStrings = JSON.stringify({
      type: 'subscribe',
      id: 3,
      channels: Array.from({ length: 5_000 }, () => 'x'),
    });
    client.send(manyStrings);
    expect(await client.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', id: 3 });
    // Neither the sender nor anyone else was disconnected or stalled.
    other.client.send({ type: 'ping', id: 9 });
    expect(await other.client.next('pong')).toEqual({ type: 'pong', id: 9 });
    client.send({ type: 'ping', id: 4 });
    expect(await client.next('pong')).toEqual({ type: 'pong', id: 4 });
  });
});
