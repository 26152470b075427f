import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../../src/broker/redis/broker.js';
import { SubscriberShard } from '../../src/broker/redis/subscriber.js';
import { silentLogger } from '../../src/log/logger.js';
import { expectRefused, get, post, type Running, signToken, TestClient, useGateways } from '../support/harness.js';
import { offsetsOf, range, readEvents } from './support/clients.js';
import {
  eventually,
  type RedisClusterHandle,
  type RedisServer,
  redisCli,
  startCluster,
  startRedis,
} from './support/servers.js';

/**
 * Several in-process gateway nodes, each with its own RedisBroker (its own
 * Redis connections), and real WebSocket clients: what a deployment behind a
 * load balancer sees, on a standalone Redis and on a 3-master cluster.
 */

let redis: RedisServer;
let cluster: RedisClusterHandle;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startCluster(3)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

const gateways = useGateways();

type Topology = 'standalone' | 'cluster';

function brokerFor(topology: Topology, prefix: string): RedisBroker {
  return topology === 'standalone'
    ? new RedisBroker({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 1000 })
    : new RedisBroker({ cluster: cluster.nodes, keyPrefix: prefix, commandTimeoutMs: 1000 });
}

async function startNodes(topology: Topology, count: number): Promise<Running[]> {
  const prefix = `gw-${randomBytes(4).toString('hex')}:`;
  const nodes: Running[] = [];
  for (let i = 0; i < count; i++) nodes.push(await gateways.start({ broker: brokerFor(topology, prefix) }));
  return nodes;
}

async function connect(node: Running, sub: string, tenant: string): Promise<TestClient> {
  const { client } = await TestClient.authed(node.wsUrl, await signToken({ sub, tenant_id: tenant }));
  return gateways.track(client);
}

describe.each<Topology>(['standalone', 'cluster'])('gateway nodes on Redis (%s)', (topology) => {
  it('every subscriber gets every publication once, in offset order, whichever node published', async () => {
    const nodes = await startNodes(topology, 3);
    const t1 = [];
    for (let i = 0; i < 9; i++) t1.push(await connect(nodes[i % 3] as Running, `u${i}`, 't1'));
    const t2 = await connect(nodes[1] as Running, 'x1', 't2');

    // Publishers on every node, concurrently: offsets are assigned by Redis.
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        nodes.map((node, n) =>
          node.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'tick', payload: { round, n } }),
        ),
      );
    }
    await nodes[2]?.gateway.publish({ channel: 'user:u4:updates', event_type: 'direct', payload: 'for u4' });
    await nodes[0]?.gateway.publish({ channel: 'tenant:t2:updates', event_type: 'other', payload: 'for t2' });

    for (const [i, client] of t1.entries()) {
      const frames = await readEvents(client, rounds * 3 + (i === 4 ? 1 : 0));
      expect(frames.filter((f) => f.type === 'gap')).toEqual([]);
      expect(offsetsOf(frames, 'tenant:t1:updates')).toEqual(range(1, rounds * 3));
      expect(offsetsOf(frames, 'user:u4:updates')).toEqual(i === 4 ? [1] : []);
      expect(frames.some((f) => f.channel.includes('t2'))).toBe(false);
    }
    const other = await readEvents(t2, 1);
    expect(other.map((f) => [f.channel, f.offset])).toEqual([['tenant:t2:updates', 1]]);
    for (const client of [...t1, t2]) {
      expect((await client.quiet(100)).filter((f) => f.type === 'event' || f.type === 'gap')).toEqual([]);
    }
  });

  it('a node whose subscriber connection is killed resubscribes and recovers the gap from the stream', async () => {
    const nodes = await startNodes(topology, 3);
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await connect(nodes[i % 3] as Running, `u${i}`, 't1'));
    const total = 60;
    const ports = topology === 'standalone' ? [redis.port] : cluster.ports;
    for (let i = 1; i <= total; i++) {
      await nodes[i % 3]?.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'tick', payload: { i } });
      if (i === 20) await Promise.all(ports.map((port) => redisCli(port, 'CLIENT', 'KILL', 'TYPE', 'pubsub')));
    }
    for (const client of clients) {
      const frames = await readEvents(client, total);
      expect(frames.filter((f) => f.type === 'gap')).toEqual([]);
      expect(offsetsOf(frames, 'tenant:t1:updates')).toEqual(range(1, total));
    }
    for (const node of nodes) {
      await eventually(async () => (await node.gateway.broker.health()).status === 'ok', 'every shard resubscribed');
    }
    const stats = await Promise.all(nodes.map((node) => node.gateway.broker.health()));
    expect(stats.reduce((sum, s) => sum + Number(s.resubscribes), 0)).toBeGreaterThanOrEqual(3);
    expect(stats.reduce((sum, s) => sum + Number(s.gapsLetThrough), 0)).toBe(0);
  });

  it('disconnect on one node closes the matches on every node with 4003, and nothing else', async () => {
    const nodes = await startNodes(topology, 3);
    const [a, b, c] = nodes as [Running, Running, Running];
    const targets = [await connect(a, 'u1', 't1'), await connect(b, 'u1', 't1'), await connect(c, 'u1', 't1')];
    const bystanders = [await connect(b, 'u2', 't1'), await connect(c, 'u1', 't2')];
    // The gateway API: this node's count back, the other nodes' closed through the broker.
    expect(await a.gateway.disconnect({ user_id: 'u1', tenant_id: 't1' })).toBe(1);
    for (const client of targets) expect((await client.waitClose()).code).toBe(4003);
    for (const client of bystanders) {
      expect(client.closed).toBeNull();
      client.send({ type: 'ping', id: 1 });
      await client.next('pong');
    }

    // The admin HTTP route, after every subscriber connection was killed and came back.
    const ports = topology === 'standalone' ? [redis.port] : cluster.ports;
    const resubscribed = (node: Running) => (node.gateway.broker as RedisBroker).stats.resubscribes;
    const before = nodes.map(resubscribed);
    await Promise.all(ports.map((port) => redisCli(port, 'CLIENT', 'KILL', 'TYPE', 'pubsub')));
    // Health alone can read "ok" before a node has even seen its subscriber
    // connection close: wait for the resubscription to start, then for a
    // disconnect to reach both other nodes (the control channel is back).
    for (const [i, node] of nodes.entries()) {
      await eventually(
        async () => resubscribed(node) > (before[i] ?? 0) && (await node.gateway.broker.health()).status === 'ok',
        'every shard resubscribed',
      );
    }
    await eventually(async () => {
      const probes = [await connect(a, 'probe', 't9'), await connect(c, 'probe', 't9')];
      await post(b.httpUrl, '/api/disconnect', { user_id: 'probe' });
      const closed = await Promise.all(
        probes.map((p) =>
          p.waitClose(1000).then(
            () => true,
            () => false,
          ),
        ),
      );
      for (const p of probes) p.close();
      return closed.every(Boolean);
    }, 'a disconnect reaching every node again');
    const again = [await connect(a, 'u3', 't1'), await connect(c, 'u3', 't1')];
    expect(await post(b.httpUrl, '/api/disconnect', { user_id: 'u3' })).toMatchObject({
      status: 200,
      body: { disconnected: 0 },
    });
    for (const client of again) expect((await client.waitClose()).code).toBe(4003);
    expect(bystanders.every((client) => client.closed === null)).toBe(true);
  });

  it('a client moving to another node with `since` recovers exactly what it missed', async () => {
    const nodes = await startNodes(topology, 2);
    const room = 'tenant:t1:room';
    const publish = (node: number, i: number) =>
      nodes[node]?.gateway.publish({ channel: room, event_type: 'e', payload: i });
    const first = await connect(nodes[0] as Running, 'u1', 't1');
    first.send({ type: 'subscribe', id: 1, channels: [room] });
    await first.next('ack');
    for (let i = 1; i <= 5; i++) await publish(1, i);
    const seen = await readEvents(first, 5);
    const last = seen.at(-1) as { offset: number; epoch: string };
    first.close();
    for (let i = 6; i <= 12; i++) await publish(i % 2, i);
    const moved = await connect(nodes[1] as Running, 'u1', 't1');
    // Publications racing the resubscribe must merge with the replay: no gap, no duplicate.
    const racing = Promise.all(range(13, 20).map((i) => publish(i % 2, i)));
    moved.send({
      type: 'subscribe',
      id: 7,
      channels: [{ channel: room, since: { offset: last.offset, epoch: last.epoch } }],
    });
    await racing;
    const ack = await moved.next('ack');
    expect(ack).toMatchObject({ id: 7, accepted: [{ channel: room, recovered: true, epoch: last.epoch }] });
    const frames = await readEvents(moved, 15);
    expect(frames.filter((f) => f.type === 'gap')).toEqual([]);
    expect(offsetsOf(frames, room)).toEqual(range(6, 20));
  });
});

describe('gateway nodes when Redis restarts empty', () => {
  it('fails fast while down, then each live channel gets one gap frame, then live events', async () => {
    const nodes = await startNodes('standalone', 2);
    const a = await connect(nodes[0] as Running, 'u1', 't1');
    const b = await connect(nodes[1] as Running, 'u2', 't1');
    for (let i = 1; i <= 3; i++) {
      await nodes[i % 2]?.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'e', payload: i });
      await nodes[0]?.gateway.publish({ channel: 'user:u1:updates', event_type: 'e', payload: i });
    }
    const before = await readEvents(a, 6);
    await readEvents(b, 3);
    const oldEpoch = (before[0] as { epoch: string }).epoch;

    await redis.kill();
    await eventually(async () => (await get(nodes[0]?.httpUrl as string, '/ready', null)).status === 503, '/ready 503');
    const started = Date.now();
    await expect(
      nodes[0]?.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'e', payload: 'lost' }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const upgrade = await expectRefused(nodes[1]?.wsUrl as string, {
      authorization: `Bearer ${await signToken({ sub: 'u5', tenant_id: 't1' })}`,
    });
    expect(upgrade).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE' } });
    const http = await post(nodes[1]?.httpUrl as string, '/api/publish', {
      channel: 'tenant:t1:updates',
      event_type: 'e',
      payload: 'lost',
    });
    expect(http).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE' } });
    a.send({ type: 'subscribe', id: 3, channels: ['tenant:t1:other'] });
    const refused = await a.next('ack');
    expect(refused).toMatchObject({ rejected: [{ channel: 'tenant:t1:other', code: 'UNAVAILABLE' }] });
    expect(Date.now() - started).toBeLessThan(10_000); // fails fast: far below a hang, with room for a busy machine

    await redis.restart();
    for (const node of nodes) {
      await eventually(async () => (await node.gateway.broker.health()).status === 'ok', 'broker back', 10_000);
    }
    for (let i = 1; i <= 3; i++) {
      await nodes[i % 2]?.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'e', payload: `new ${i}` });
      await nodes[1]?.gateway.publish({ channel: 'user:u1:updates', event_type: 'e', payload: `new ${i}` });
    }
    const after = await readEvents(a, 6);
    const gaps = after.filter((f) => f.type === 'gap');
    expect(gaps.map((g) => g.channel).sort()).toEqual(['tenant:t1:updates', 'user:u1:updates']);
    for (const gap of gaps) {
      expect(gap.offset).toBe(1);
      expect(gap.epoch).not.toBe(oldEpoch);
      // The gap comes right before that channel's first event of the new epoch.
      const next = after[after.indexOf(gap) + 1];
      expect(next).toMatchObject({ type: 'event', channel: gap.channel, offset: 1, epoch: gap.epoch });
    }
    expect(offsetsOf(after, 'tenant:t1:updates')).toEqual([1, 2, 3]);
    expect(offsetsOf(after, 'user:u1:updates')).toEqual([1, 2, 3]);
    const bAfter = await readEvents(b, 3);
    expect(bAfter.filter((f) => f.type === 'gap')).toHaveLength(1);

    // A client resuming from the old epoch learns it must refetch.
    const late = await connect(nodes[1] as Running, 'u3', 't1');
    late.send({
      type: 'subscribe',
      id: 9,
      channels: [{ channel: 'tenant:t1:updates', since: { offset: 3, epoch: oldEpoch } }],
    });
    const ack = await late.next('ack');
    expect(ack).toMatchObject({ accepted: [{ channel: 'tenant:t1:updates', recovered: false, offset: 3 }] });
    for (const client of [a, b, late]) {
      expect((await client.quiet(100)).filter((f) => f.type === 'gap' || f.type === 'event')).toEqual([]);
    }
  }, 40_000);
});

describe('subscriber shards and health', () => {
  // A cluster node creates a subscriber shard when a channel first lands on
  // its master. While that first connection was being made the node said
  // `down`, so it refused every upgrade (503) and failed /ready on a healthy
  // Redis: under load, clients of the processes test were pushed to other
  // nodes at start, and a client that was thought to be on a live node was
  // in fact on the node that got killed.
  it('a cluster node is not down while a new subscriber shard makes its first connection', async () => {
    const broker = brokerFor('cluster', `hs-${randomBytes(4).toString('hex')}:`);
    await broker.start(() => {});
    try {
      expect((await broker.health()).status).toBe('ok');
      const subscribing = broker.subscribe('tenant:t1:updates');
      const during = await broker.health();
      await subscribing;
      expect(during.status).toBe('ok');
      expect((await broker.health()).status).toBe('ok');
    } finally {
      await broker.close();
    }
  });

  it('a shard whose first connection attempt failed is down', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const hooks = { onMessage() {}, onReconnect() {}, onMoved() {} };
    const shard = new SubscriberShard(
      `127.0.0.1:${port}`,
      { host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 50 },
      true,
      hooks,
      silentLogger,
    );
    try {
      shard.connect();
      await eventually(() => !shard.up, 'shard down after a refused connection', 5000);
    } finally {
      shard.close();
    }
  });
});
