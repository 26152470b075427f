import type { EventFrame, ServerFrame, SubscribeAckFrame, UnsubscribeAckFrame } from '@albatross/protocol';
import { describe, expect, it } from 'vitest';
import { expectRefused, signToken, TestClient, useGateways } from '../support/harness.js';

const env = useGateways();

async function authed(url: string, claims: Parameters<typeof signToken>[0] = {}): Promise<TestClient> {
  const { client } = await TestClient.authed(url, await signToken(claims));
  return env.track(client);
}
const events = (frames: ServerFrame[]): EventFrame[] => frames.filter((f): f is EventFrame => f.type === 'event');
const subAck = async (client: TestClient) => (await client.next('ack')) as SubscribeAckFrame;

describe('authorization of subscriptions', () => {
  it('cross-tenant and cross-user subscriptions are FORBIDDEN and no event of them ever arrives', async () => {
    const g = await env.start();
    const u1 = await authed(g.wsUrl, { sub: 'u1', tenant_id: 't1' });
    u1.send({
      type: 'subscribe',
      id: 1,
      channels: ['tenant:t2:updates', 'user:u2:updates', 'user:u3:updates', 'tenant:t2:secret'],
    });
    const ack = await subAck(u1);
    expect(ack.accepted).toEqual([]);
    expect(ack.rejected.map((r) => [r.channel, r.code])).toEqual([
      ['tenant:t2:updates', 'FORBIDDEN'],
      ['user:u2:updates', 'FORBIDDEN'],
      ['user:u3:updates', 'FORBIDDEN'],
      ['tenant:t2:secret', 'FORBIDDEN'],
    ]);
    for (const r of ack.rejected) expect(r.message.length).toBeGreaterThan(0);
    // Someone legitimately holds them, and they get published to.
    const u2 = await authed(g.wsUrl, { sub: 'u2', tenant_id: 't1' });
    const u3 = await authed(g.wsUrl, { sub: 'u3', tenant_id: 't2' });
    u3.send({ type: 'subscribe', id: 1, channels: ['tenant:t2:secret'] });
    expect((await subAck(u3)).accepted).toHaveLength(1);
    for (const channel of ['tenant:t2:updates', 'tenant:t2:secret', 'user:u2:updates', 'user:u3:updates']) {
      await g.gateway.publish({ channel, event_type: 'x', payload: channel });
    }
    expect(await u1.sync()).toEqual([]);
    expect(events(await u2.sync()).map((e) => e.channel)).toEqual(['user:u2:updates']);
    expect(events(await u3.sync()).map((e) => e.channel)).toEqual([
      'tenant:t2:updates',
      'tenant:t2:secret',
      'user:u3:updates',
    ]);
  });

  it('identities whose ids contain ":" are refused, so no one can read their user or tenant channels', async () => {
    const g = await env.start();
    for (const claims of [{ sub: 'u1:x' }, { tenant_id: 't1:x' }]) {
      expect(await expectRefused(`${g.wsUrl}?access_token=${await signToken(claims)}`)).toMatchObject({
        status: 401,
        body: { code: 'UNAUTHORIZED' },
      });
    }
  });

  it('PlatformAdmin may subscribe another tenant only when enabled', async () => {
    const off = await env.start();
    const admin = await authed(off.wsUrl, { sub: 'a1', tenant_id: 't1', roles: ['PlatformAdmin'] });
    admin.send({ type: 'subscribe', id: 1, channels: ['tenant:t2:updates'] });
    expect((await subAck(admin)).rejected).toMatchObject([{ channel: 'tenant:t2:updates', code: 'FORBIDDEN' }]);

    const on = await env.start({ allowPlatformAdmin: true });
    const admin2 = await authed(on.wsUrl, { sub: 'a1', tenant_id: 't1', roles: ['PlatformAdmin'] });
    const member = await authed(on.wsUrl, { sub: 'm1', tenant_id: 't1', roles: ['Member'] });
    admin2.send({ type: 'subscribe', id: 1, channels: ['tenant:t2:updates', 'user:u2:updates'] });
    const ack = await subAck(admin2);
    expect(ack.accepted.map((a) => a.channel)).toEqual(['tenant:t2:updates']);
    expect(ack.rejected).toMatchObject([{ channel: 'user:u2:updates', code: 'FORBIDDEN' }]);
    member.send({ type: 'subscribe', id: 1, channels: ['tenant:t2:updates'] });
    expect((await subAck(member)).rejected).toMatchObject([{ code: 'FORBIDDEN' }]);
    await on.gateway.publish({ channel: 'tenant:t2:updates', event_type: 'x', payload: 1 });
    expect(events(await admin2.sync())).toHaveLength(1);
    expect(events(await member.sync())).toHaveLength(0);
  });

  it('other namespaces: async authorizer decides; a throwing one is UNAVAILABLE; the channels claim allows', async () => {
    const g = await env.start({
      authorizers: {
        campaign: async ({ identity, channel }) => {
          await new Promise((resolve) => setTimeout(resolve, 10)); // "hits the DB"
          return identity.userId === 'u1' && channel.segments[0] === '7';
        },
        broken: () => {
          throw new Error('db down');
        },
      },
    });
    const u1 = await authed(g.wsUrl, { sub: 'u1', channels: ['room:42:chat'] });
    u1.send({
      type: 'subscribe',
      id: 7,
      channels: ['campaign:7:updates', 'campaign:8:updates', 'broken:1:x', 'room:42:chat', 'room:43:chat'],
    });
    const ack = await subAck(u1);
    expect(ack.id).toBe(7);
    expect(ack.accepted.map((a) => a.channel)).toEqual(['campaign:7:updates', 'room:42:chat']);
    expect(ack.rejected.map((r) => [r.channel, r.code])).toEqual([
      ['campaign:8:updates', 'FORBIDDEN'],
      ['broken:1:x', 'UNAVAILABLE'],
      ['room:43:chat', 'FORBIDDEN'],
    ]);
    const u2 = await authed(g.wsUrl, { sub: 'u2' });
    u2.send({ type: 'subscribe', id: 1, channels: ['campaign:7:updates', 'room:42:chat'] });
    expect((await subAck(u2)).accepted).toEqual([]);
    await g.gateway.publish({ channels: ['campaign:7:updates', 'room:42:chat'], event_type: 'x', payload: 1 });
    expect(events(await u1.sync()).map((e) => e.channel)).toEqual(['campaign:7:updates', 'room:42:chat']);
    expect(await u2.sync()).toEqual([]);
  });
});

describe('subscribe acks', () => {
  it('answers several channels in one ack: accepted and rejected, invalid names INVALID_MESSAGE', async () => {
    const g = await env.start();
    await g.gateway.publish({ channel: 'tenant:t1:orders', event_type: 'x', payload: 1 });
    const orders = await g.gateway.history('tenant:t1:orders');
    const client = await authed(g.wsUrl);
    const longButOk = `tenant:t1:${'x'.repeat(245)}`; // 255 bytes
    const tooLong = `tenant:t1:${'x'.repeat(246)}`; // 256 bytes
    client.send({
      type: 'subscribe',
      id: 0,
      channels: [
        'tenant:t1:orders',
        'tenant:t2:orders',
        'no-colon',
        { channel: 'user:u1:inbox' },
        'tenant:t1:',
        longButOk,
        tooLong,
        'tenant:t1:bad name',
      ],
    });
    const ack = await subAck(client);
    expect(ack.id).toBe(0);
    expect(ack.accepted).toEqual([
      { channel: 'tenant:t1:orders', offset: 1, epoch: orders.epoch },
      { channel: 'user:u1:inbox', offset: 0, epoch: expect.any(String) },
      { channel: longButOk, offset: 0, epoch: expect.any(String) },
    ]);
    expect(ack.rejected.map((r) => [r.channel, r.code])).toEqual([
      ['tenant:t2:orders', 'FORBIDDEN'],
      ['no-colon', 'INVALID_MESSAGE'],
      ['tenant:t1:', 'INVALID_MESSAGE'],
      [tooLong, 'INVALID_MESSAGE'],
      ['tenant:t1:bad name', 'INVALID_MESSAGE'],
    ]);
    for (const a of ack.accepted) {
      expect(a.epoch.length).toBeGreaterThan(0);
      expect(a).not.toHaveProperty('recovered');
    }
    // The connection is healthy and holds exactly the accepted channels.
    await g.gateway.publish({
      channels: ['tenant:t1:orders', 'user:u1:inbox', longButOk, 'tenant:t2:orders'],
      event_type: 'x',
      payload: 2,
    });
    expect(events(await client.sync()).map((e) => [e.channel, e.offset])).toEqual([
      ['tenant:t1:orders', 2],
      ['user:u1:inbox', 1],
      [longButOk, 1],
    ]);
  });

  it('a channel named twice in one subscribe is accepted once', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.send({ type: 'subscribe', id: 1, channels: ['tenant:t1:a', 'tenant:t1:a'] });
    const ack = await subAck(client);
    expect(ack.accepted.map((a) => a.channel)).toEqual(['tenant:t1:a']);
    expect(ack.rejected).toMatchObject([{ channel: 'tenant:t1:a', code: 'INVALID_MESSAGE' }]);
    await g.gateway.publish({ channel: 'tenant:t1:a', event_type: 'x', payload: 1 });
    expect(events(await client.sync())).toHaveLength(1);
  });

  it('the ack precedes every event of the channels it accepts, with no gap after it', async () => {
    const g = await env.start();
    const channel = 'tenant:t1:busy';
    for (let i = 0; i < 5; i++) await g.gateway.publish({ channel, event_type: 'x', payload: i });
    const client = await authed(g.wsUrl);
    client.send({ type: 'subscribe', id: 1, channels: [channel] });
    // Publish while the subscribe is being handled.
    const total = 60;
    for (let i = 5; i < total; i++) {
      await g.gateway.publish({ channel, event_type: 'x', payload: i });
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const frames = await client.sync();
    expect(frames[0]?.type).toBe('ack');
    const ack = frames[0] as SubscribeAckFrame;
    const offset = ack.accepted[0]?.offset ?? -1;
    expect(offset).toBeGreaterThanOrEqual(5);
    const got = events(frames).map((e) => e.offset);
    expect(got).toEqual(Array.from({ length: total - offset }, (_, i) => offset + 1 + i));
  });

  it('subscribing to a held channel again is accepted and never duplicates events', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 1 });
    expect(events(await client.sync())).toHaveLength(1);
    client.send({ type: 'subscribe', id: 2, channels: ['tenant:t1:updates'] });
    const ack = await subAck(client);
    expect(ack.accepted).toEqual([{ channel: 'tenant:t1:updates', offset: 1, epoch: expect.any(String) }]);
    expect(ack.rejected).toEqual([]);
    client.send({ type: 'subscribe', id: 3, channels: ['tenant:t1:updates'] });
    await subAck(client);
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 2 });
    expect(events(await client.sync()).map((e) => e.offset)).toEqual([2]);
  });

  it('enforces the subscription limit, baseline included; held channels are still accepted', async () => {
    const g = await env.start({ maxSubscriptions: 4 });
    const client = await authed(g.wsUrl); // 3 baseline channels
    client.send({ type: 'subscribe', id: 1, channels: ['tenant:t1:a', 'tenant:t1:b', 'tenant:t1:updates'] });
    const ack = await subAck(client);
    expect(ack.accepted.map((a) => a.channel)).toEqual(['tenant:t1:a', 'tenant:t1:updates']);
    expect(ack.rejected).toMatchObject([{ channel: 'tenant:t1:b', code: 'SUBSCRIPTION_LIMIT' }]);
  });

  it('carries event fields: type, channel, offset, epoch, event_type, ts, payload, meta', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const before = Date.now();
    const meta = { user_id: 'u9', source: 'api', correlation_id: 'c-1', changed_fields: ['name', 'size'] };
    const { results } = await g.gateway.publish({
      channel: 'tenant:t1:updates',
      event_type: 'structure.changed',
      payload: { id: 's1', nested: [1, null, 'x'] },
      meta,
    });
    const after = Date.now();
    const event = await client.next('event');
    expect(event).toEqual({
      type: 'event',
      channel: 'tenant:t1:updates',
      offset: 1,
      epoch: results[0]?.epoch,
      event_type: 'structure.changed',
      ts: expect.any(Number),
      payload: { id: 's1', nested: [1, null, 'x'] },
      meta,
    });
    expect(event.ts).toBeGreaterThanOrEqual(before);
    expect(event.ts).toBeLessThanOrEqual(after);
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: null });
    const second = await client.next('event');
    expect(second.payload).toBeNull();
    expect(second).not.toHaveProperty('meta');
  });
});

describe('unsubscribe', () => {
  it('answers removed and missing, and no event of a removed channel arrives afterwards', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    client.send({ type: 'subscribe', id: 1, channels: ['tenant:t1:extra'] });
    await subAck(client);
    client.send({
      type: 'unsubscribe',
      id: 2,
      channels: ['tenant:t1:extra', 'tenant:t1:updates', 'tenant:t1:never', 'not valid', 'tenant:t2:updates'],
    });
    const ack = (await client.next('ack')) as UnsubscribeAckFrame;
    expect(ack).toEqual({
      type: 'ack',
      id: 2,
      removed: ['tenant:t1:extra', 'tenant:t1:updates'],
      missing: ['tenant:t1:never', 'not valid', 'tenant:t2:updates'],
    });
    await g.gateway.publish({
      channels: ['tenant:t1:extra', 'tenant:t1:updates', 'user:u1:updates'],
      event_type: 'x',
      payload: 1,
    });
    expect(events(await client.sync()).map((e) => e.channel)).toEqual(['user:u1:updates']);
    client.send({ type: 'unsubscribe', id: 3, channels: ['tenant:t1:extra'] });
    expect(await client.next('ack')).toEqual({ type: 'ack', id: 3, removed: [], missing: ['tenant:t1:extra'] });
  });

  it('one client unsubscribing does not affect another on the same channel; resubscribing resumes live', async () => {
    const g = await env.start();
    const a = await authed(g.wsUrl, { sub: 'a' });
    const b = await authed(g.wsUrl, { sub: 'b' });
    a.send({ type: 'unsubscribe', id: 1, channels: ['tenant:t1:updates'] });
    await a.next('ack');
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 1 });
    expect(await a.sync()).toEqual([]);
    expect(events(await b.sync()).map((e) => e.offset)).toEqual([1]);
    a.send({ type: 'subscribe', id: 2, channels: ['tenant:t1:updates'] });
    expect((await subAck(a)).accepted).toMatchObject([{ channel: 'tenant:t1:updates', offset: 1 }]);
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 2 });
    expect(events(await a.sync()).map((e) => e.offset)).toEqual([2]);
    expect(events(await b.sync()).map((e) => e.offset)).toEqual([2]);
  });
});
