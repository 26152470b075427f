import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import { RedisBroker } from '../../src/broker/redis/broker.js';
import { LocalConnectionCounter } from '../../src/limits/connection-counter.js';
import { type RedisClusterHandle, type RedisServer, startCluster, startRedis } from '../redis/support/servers.js';
import { type CounterFactory, counterContract } from './counter-suite.js';
import { brokerContract } from './suite.js';

let redis: RedisServer | null = null;
let cluster: RedisClusterHandle | null = null;

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startCluster(3)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

// Each test gets its own key prefix, so one server serves the whole file.
const prefix = () => `contract-${randomBytes(4).toString('hex')}:`;

// Frequent periodic checks: every contract test also runs with checks racing live
// delivery, and a never-published channel's TTL (at least 3 checks) stays short.
const CHECK_MS = 100;

// One in-memory broker is a whole deployment: there is no second node to reach.
brokerContract('MemoryBroker', () => (options) => Promise.resolve(new MemoryBroker(options)), { multiNode: false });

// Each factory() is one deployment (one key prefix); each call of what it returns, one node.
brokerContract('RedisBroker (standalone)', () => {
  const keyPrefix = prefix();
  return async (options) => {
    if (!redis) throw new Error('redis not started');
    return new RedisBroker({ url: redis.url, keyPrefix, checkIntervalMs: CHECK_MS, ...options });
  };
});

brokerContract('RedisBroker (3-master cluster)', () => {
  const keyPrefix = prefix();
  return async (options) => {
    if (!cluster) throw new Error('cluster not started');
    return new RedisBroker({ cluster: cluster.nodes, keyPrefix, checkIntervalMs: CHECK_MS, ...options });
  };
});

// The counter of a started Redis broker; closing it closes the broker.
const redisCounter =
  (options: ConstructorParameters<typeof RedisBroker>[0]): CounterFactory =>
  async () => {
    const broker = new RedisBroker(options);
    await broker.start(() => {});
    const counter = broker.connectionCounter;
    return {
      acquire: (tenantId, userId, limits) => counter.acquire(tenantId, userId, limits),
      release: (tenantId, userId) => counter.release(tenantId, userId),
      close: () => broker.close(),
    };
  };

counterContract('LocalConnectionCounter (memory broker)', () => async () => new LocalConnectionCounter());

counterContract('RedisConnectionCounter (standalone)', () => {
  if (!redis) throw new Error('redis not started');
  return redisCounter({ url: redis.url, keyPrefix: prefix() });
});

counterContract('RedisConnectionCounter (3-master cluster)', () => {
  if (!cluster) throw new Error('cluster not started');
  return redisCounter({ cluster: cluster.nodes, keyPrefix: prefix() });
});
