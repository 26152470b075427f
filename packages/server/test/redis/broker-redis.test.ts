import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker, type RedisBrokerOptions } from '../../src/broker/redis/broker.js';
import { LuaScript } from '../../src/broker/redis/client.js';
import { framePieces } from '../../src/broker/redis/message.js';
import { PUBLISH_LUA } from '../../src/broker/redis/scripts.js';
import type { BrokerPublication, PublishInput } from '../../src/broker/types.js';
import { AlbatrossError } from '../../src/errors.js';
import type { Logger } from '../../src/log/logger.js';
import { eventually, type RedisServer, redisCli, startRedis } from './support/servers.js';

/**
 * RedisBroker on a real standalone Redis, several "nodes" (brokers) in one
 * process: cross-node delivery, gap recovery from the stream, subscriber
 * connection loss, Redis restarts, fail-fast errors, idempotency and
 * connection leases across nodes.
 */

let redis: RedisServer;
let raw: Redis;
beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  raw.on('error', () => {});
  await raw.connect();
}, 30_000);
afterAll(async () => {
  raw.disconnect();
  await redis.stop();
});

const open: RedisBroker[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((broker) => broker.close()));
});

let prefix = '';
const newPrefix = () => {
  prefix = `t-${randomBytes(4).toString('hex')}:`;
  return prefix;
};

async function node(
  options: Partial<RedisBrokerOptions> = {},
): Promise<{ broker: RedisBroker; got: BrokerPublication[] }> {
  const broker = new RedisBroker({ url: redis.url, keyPrefix: prefix, checkIntervalMs: 0, ...options });
  open.push(broker);
  const got: BrokerPublication[] = [];
  await broker.start((publication) => got.push(publication));
  return { broker, got };
}

const input = (payload: unknown): PublishInput => ({ eventType: 'e', payloadJson: JSON.stringify(payload) });

/** Publishes like the broker but on a pub/sub channel nobody listens to: stored, never delivered (a lost message). */
const SILENT = new LuaScript('publish', PUBLISH_LUA);
async function publishLost(broker: RedisBroker, channel: string, payload: unknown): Promise<number> {
  const { head, middle, tail } = framePieces(channel, 'e', JSON.stringify(payload), undefined);
  const reply = (await SILENT.run(
    raw,
    [broker.keys.meta(channel), broker.keys.stream(channel)],
    [`${prefix}nowhere`, 'unused', head, middle, tail, 1000, 600_000, 86_400_000, 'PUBLISH'],
  )) as [number, string, string];
  return reply[0];
}

/** A logger that keeps every line as text (message and fields). */
function capture(lines: string[]): Logger {
  const logger: Logger = {
    debug: (obj, msg) => lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    info: (obj, msg) => lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    warn: (obj, msg) => lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    error: (obj, msg) => lines.push(`${msg ?? ''} ${JSON.stringify(obj)}`),
    child: () => logger,
  };
  return logger;
}

const offsets = (got: readonly BrokerPublication[], channel?: string) =>
  got.filter((p) => channel === undefined || p.channel === channel).map((p) => p.offset);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('RedisBroker on a standalone Redis', () => {
  it('delivers what one node publishes to every subscribed node, once, in order', async () => {
    newPrefix();
    const a = await node();
    const b = await node();
    const c = await node();
    await b.broker.subscribe('tenant:t1:a');
    await c.broker.subscribe('tenant:t1:a');
    for (let i = 1; i <= 20; i++) await (i % 2 ? a : c).broker.publish('tenant:t1:a', input(i));
    await eventually(() => b.got.length >= 20 && c.got.length >= 20, 'deliveries');
    expect(offsets(b.got)).toEqual(range(1, 20));
    expect(offsets(c.got)).toEqual(range(1, 20));
    expect(a.got).toEqual([]);
    // The bytes each node hands out are the frame the publisher's script built.
    expect(b.got[4]?.data.equals(c.got[4]?.data as Buffer)).toBe(true);
    const recovered = await a.broker.recover('tenant:t1:a', { epoch: b.got[0]?.epoch as string, offset: 10 });
    expect(recovered.publications.map((p) => p.offset)).toEqual(range(11, 20));
  });

  it('fills a lost pub/sub message from the stream before the next event', async () => {
    newPrefix();
    const a = await node();
    const b = await node();
    await b.broker.subscribe('tenant:t1:a');
    await a.broker.publish('tenant:t1:a', input(1));
    await publishLost(a.broker, 'tenant:t1:a', 2);
    await publishLost(a.broker, 'tenant:t1:a', 3);
    await a.broker.publish('tenant:t1:a', input(4));
    await eventually(() => b.got.length >= 4, 'recovered deliveries');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(offsets(b.got)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(b.got[1]?.data.toString() ?? '{}').payload).toBe(2);
    expect(b.broker.stats).toMatchObject({ gapsLetThrough: 0 });
    expect(b.broker.stats.recovered).toBeGreaterThanOrEqual(1);
  });

  it('lets the jump through when the stream no longer has the range', async () => {
    newPrefix();
    const a = await node({ historySize: 2 });
    const b = await node({ historySize: 2 });
    await b.broker.subscribe('tenant:t1:a');
    await a.broker.publish('tenant:t1:a', input(1));
    for (let i = 2; i <= 5; i++) await publishLost(a.broker, 'tenant:t1:a', i);
    await a.broker.publish('tenant:t1:a', input(6));
    await a.broker.publish('tenant:t1:a', input(7));
    await eventually(() => b.got.length >= 3, 'deliveries');
    expect(offsets(b.got)).toEqual([1, 6, 7]);
    expect(b.broker.stats.gapsLetThrough).toBe(1);
  });

  it('catches a lost last message with the periodic check', async () => {
    newPrefix();
    const a = await node();
    const b = await node({ checkIntervalMs: 200 });
    await b.broker.subscribe('tenant:t1:a');
    await a.broker.publish('tenant:t1:a', input(1));
    await publishLost(a.broker, 'tenant:t1:a', 2);
    await eventually(() => b.got.length >= 2, 'periodic check delivery', 5000);
    expect(offsets(b.got)).toEqual([1, 2]);
  });

  it('resubscribes after CLIENT KILL TYPE pubsub and recovers what it missed', async () => {
    newPrefix();
    const a = await node();
    const b = await node();
    const channels = ['tenant:t1:a', 'tenant:t1:b', 'user:u1:updates'];
    for (const channel of channels) await b.broker.subscribe(channel);
    let n = 0;
    const publishAll = async () => {
      n += 1;
      for (const channel of channels) await a.broker.publish(channel, input(n));
    };
    for (let i = 0; i < 5; i++) await publishAll();
    await eventually(() => b.got.length >= 15, 'first deliveries');
    await redisCli(redis.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    // Published while the subscriber connection is down or resubscribing.
    for (let i = 0; i < 10; i++) await publishAll();
    await eventually(() => b.broker.stats.resubscribes >= 1, 'resubscribed');
    for (let i = 0; i < 5; i++) await publishAll();
    await eventually(() => b.got.length >= 60, 'all deliveries', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const channel of channels) expect(offsets(b.got, channel), channel).toEqual(range(1, 20));
    expect(b.broker.stats.gapsLetThrough).toBe(0);
    expect(b.broker.stats.recovered).toBeGreaterThanOrEqual(1);
    expect((await b.broker.health()).status).toBe('ok');
  });

  it('fails fast with UNAVAILABLE and reports down while Redis is gone, then starts new epochs', async () => {
    newPrefix();
    const logged: string[] = [];
    const a = await node({ commandTimeoutMs: 1000, logger: capture(logged) });
    const b = await node({ commandTimeoutMs: 1000 });
    await b.broker.subscribe('tenant:t1:a');
    const before = await a.broker.publish('tenant:t1:a', input(1));
    await eventually(() => b.got.length >= 1, 'first delivery');

    await redis.kill();
    await eventually(async () => (await b.broker.health()).status === 'down', 'health down');
    await eventually(async () => (await a.broker.health()).status === 'down', 'health down on the other node');
    const started = Date.now();
    const failures = await Promise.allSettled([
      a.broker.publish('tenant:t1:a', input(2)),
      a.broker.position('tenant:t1:a'),
      a.broker.recover('tenant:t1:a', { epoch: before.epoch, offset: 0 }),
      b.broker.subscribe('tenant:t1:b'),
      a.broker.idempotency.once('k', 1000, async () => 1),
      a.broker.connectionCounter.acquire('t1', 'u1', {}),
    ]);
    expect(Date.now() - started).toBeLessThan(10_000); // fails fast: far below a hang, with room for a busy machine
    for (const failure of failures) {
      expect(failure.status).toBe('rejected');
      const reason = (failure as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(AlbatrossError);
      expect((reason as AlbatrossError).code).toBe('UNAVAILABLE');
      // Callers (WebSocket clients, HTTP callers) get a stable message, never ioredis' text or addresses (D8)...
      expect((reason as AlbatrossError).message).toBe('broker unavailable: retry later');
    }
    // ...while the detail stays in the log.
    const failedCalls = logged.filter((line) => line.startsWith('redis call failed'));
    expect(failedCalls.join('\n')).toMatch(/enableOfflineQueue|ECONNREFUSED|Connection is closed/);

    await redis.restart();
    await eventually(async () => (await b.broker.health()).status === 'ok', 'health ok again', 10_000);
    await eventually(async () => (await a.broker.health()).status === 'ok', 'publisher ok again', 10_000);
    const after = await a.broker.publish('tenant:t1:a', input(3));
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    await eventually(() => b.got.length >= 2, 'delivery in the new epoch');
    expect(b.got.map((p) => [p.epoch, p.offset])).toEqual([
      [before.epoch, 1],
      [after.epoch, 1],
    ]);
    expect((await b.broker.recover('tenant:t1:a', { epoch: before.epoch, offset: 1 })).recovered).toBe(false);
  }, 30_000);

  it('a subscribe/unsubscribe flood of made-up channels leaves the key count flat (D2)', async () => {
    newPrefix();
    const historyTtlMs = 1000;
    const a = await node({ historyTtlMs });
    const madeUp = async (): Promise<string[]> => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}{tenant:t1:made-up-*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      return keys;
    };
    const published = await a.broker.publish('tenant:t1:real', input(1));
    expect(await madeUp()).toEqual([]);
    // One authenticated client's flood: subscribe and drop 300 names nobody publishes to (bounded).
    for (let i = 0; i < 300; i++) {
      await a.broker.subscribe(`tenant:t1:made-up-${i}`);
      await a.broker.unsubscribe(`tenant:t1:made-up-${i}`);
    }
    const created = await madeUp();
    // Every key a made-up name left behind lives at most the history TTL, never the 24 h idle TTL.
    for (const key of created) {
      const ttl = await raw.pttl(key);
      expect(ttl === -2 || (ttl > 0 && ttl <= historyTtlMs)).toBe(true);
    }
    // ...so the count falls back to where it was: nothing of the flood stays.
    await eventually(async () => (await madeUp()).length === 0, 'made-up channel keys gone', 10_000);
    // A published channel keeps its position (its meta has the long idle TTL).
    expect(await raw.pttl(a.broker.keys.meta('tenant:t1:real'))).toBeGreaterThan(60 * 60_000);
    expect(await a.broker.position('tenant:t1:real')).toEqual({ offset: 1, epoch: published.epoch });
  }, 30_000);

  it('bounds the live messages queued behind a stuck catch-up by bytes, not only by count', async () => {
    newPrefix();
    const channel = 'tenant:t1:stuck';
    // Recovery would keep retrying for a minute: only the byte bound can end the queueing.
    const a = await node({ recoveryTimeoutMs: 60_000, maxPendingBytes: 40_000 });
    await a.broker.subscribe(channel);
    const first = await a.broker.publish(channel, input(1));
    await eventually(() => a.got.length === 1, 'first delivery');
    // Make the stream unreadable (a missed range the node cannot fill: reads fail).
    await raw.hset(a.broker.keys.meta(channel), 'offset', 1000);
    await raw.del(a.broker.keys.stream(channel));
    await raw.set(a.broker.keys.stream(channel), 'not a stream');
    // Offsets 3.. arrive on pub/sub (2 is missing): the node queues them while it tries to fill 2.
    const payload = 'x'.repeat(8 * 1024);
    const blob = (offset: number) =>
      `${offset} ${first.epoch} ${Date.now()}\n{"type":"event","channel":"${channel}","offset":${offset},"epoch":"${first.epoch}","event_type":"e","ts":1,"payload":"${payload}"}`;
    for (let offset = 3; offset < 3 + 8; offset++) await raw.publish(a.broker.keys.pubsub(channel), blob(offset));
    // 8 × 8 KiB is over the 40 KB bound: the queue is let through as a gap well before the minute.
    await eventually(() => a.got.some((p) => p.offset >= 3), 'queued messages let through', 10_000);
    expect(a.broker.stats.gapsLetThrough).toBeGreaterThanOrEqual(1);
    // In order, no duplicate.
    const delivered = offsets(a.got);
    expect(delivered).toEqual([...delivered].sort((x, y) => x - y));
    expect(new Set(delivered).size).toBe(delivered.length);
  }, 30_000);

  it('keeps one idempotent publish across nodes under concurrency', async () => {
    newPrefix();
    const nodes = [await node(), await node(), await node()];
    let runs = 0;
    const results = await Promise.all(
      range(1, 30).map((i) =>
        (nodes[i % 3] as { broker: RedisBroker }).broker.idempotency.once('order-42', 60_000, async () => {
          runs += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
          return (nodes[i % 3] as { broker: RedisBroker }).broker.publish('tenant:t1:a', input(i));
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect((await nodes[0]?.broker.position('tenant:t1:a'))?.offset).toBe(1);
  });

  it('counts connections per tenant and user across nodes, and forgets a crashed node after its lease', async () => {
    newPrefix();
    const a = await node({ connectionLeaseMs: 1500, nodeId: 'node-a' });
    const b = await node({ connectionLeaseMs: 1500, nodeId: 'node-b' });
    const limits = { perTenant: 3, perUser: 2 };
    expect(await a.broker.connectionCounter.acquire('t1', 'u1', limits)).toBe('ok');
    expect(await b.broker.connectionCounter.acquire('t1', 'u1', limits)).toBe('ok');
    expect(await b.broker.connectionCounter.acquire('t1', 'u1', limits)).toBe('user');
    expect(await b.broker.connectionCounter.acquire('t1', 'u2', limits)).toBe('ok');
    expect(await a.broker.connectionCounter.acquire('t1', 'u3', limits)).toBe('tenant');
    expect(await a.broker.connectionCounter.acquire('t2', 'u9', limits)).toBe('ok');
    b.broker.connectionCounter.release('t1', 'u2');
    await eventually(async () => (await a.broker.connectionCounter.acquire('t1', 'u3', limits)) === 'ok', 'release');
    // Concurrent connects on both nodes never overshoot the tenant limit.
    a.broker.connectionCounter.release('t1', 'u3');
    a.broker.connectionCounter.release('t1', 'u1');
    b.broker.connectionCounter.release('t1', 'u1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const burst = await Promise.all(
      range(1, 10).map((i) => (i % 2 ? a : b).broker.connectionCounter.acquire('t3', `u${i}`, { perTenant: 4 })),
    );
    expect(burst.filter((r) => r === 'ok')).toHaveLength(4);

    // Node a "crashes" (no release): its connections count until its lease lapses, then stop.
    const aOwn = a.broker.connectionCounter.localCount('t3');
    const bOwn = b.broker.connectionCounter.localCount('t3');
    expect(aOwn + bOwn).toBe(4);
    await a.broker.close();
    expect(await b.broker.connectionCounter.acquire('t3', 'ux', { perTenant: 4 })).toBe('tenant');
    await new Promise((resolve) => setTimeout(resolve, 1800));
    const more = [];
    for (let i = 0; i < 6; i++) more.push(await b.broker.connectionCounter.acquire('t3', `v${i}`, { perTenant: 4 }));
    expect(more.filter((r) => r === 'ok')).toHaveLength(aOwn);
  }, 20_000);

  it('rewrites its counts after Redis came back empty', async () => {
    newPrefix();
    const a = await node({ connectionLeaseMs: 600, nodeId: 'node-a' });
    const b = await node({ connectionLeaseMs: 600, nodeId: 'node-b' });
    expect(await a.broker.connectionCounter.acquire('t1', 'u1', { perTenant: 2 })).toBe('ok');
    expect(await a.broker.connectionCounter.acquire('t1', 'u2', { perTenant: 2 })).toBe('ok');
    await redis.restart();
    await eventually(async () => (await a.broker.health()).status === 'ok', 'a back');
    await eventually(async () => (await b.broker.health()).status === 'ok', 'b back');
    // A renewal round writes node a's two connections back; then they count again.
    await eventually(
      async () => (await raw.hget(a.broker.keys.connectionCounts('t1'), 'node-a').catch(() => null)) === '2',
      'counts rewritten',
      5000,
    );
    expect(await b.broker.connectionCounter.acquire('t1', 'u3', { perTenant: 2 })).toBe('tenant');
  }, 20_000);
});
