import { afterEach, describe, expect, it } from 'vitest';
import { type Running, signToken, startGateway, TestClient } from './support/harness.js';

let running: Running | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

describe('smoke', () => {
  it('auth, welcome, publish, event', async () => {
    running = await startGateway();
    const { client, welcome } = await TestClient.authed(running.wsUrl, await signToken());
    expect(welcome).toMatchObject({ type: 'welcome', user_id: 'u1', tenant_id: 't1' });
    const r = await running.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: { a: 1 } });
    expect(r.results[0]?.offset).toBe(1);
    const ev = await client.next('event');
    expect(ev).toMatchObject({ channel: 'tenant:t1:updates', offset: 1, payload: { a: 1 } });
    client.close();
  });
});
