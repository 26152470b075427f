import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import { RedisBroker } from '../../src/broker/redis/broker.js';
import { type RedisClusterHandle, type RedisServer, startCluster, startRedis } from '../redis/support/servers.js';
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

brokerContract('MemoryBroker', () => (options) => Promise.resolve(new MemoryBroker(options)));

brokerContract('RedisBroker (standalone)', () => async (options) => {
  if (!redis) throw new Error('redis not started');
  return new RedisBroker({ url: redis.url, keyPrefix: prefix(), ...options });
});

brokerContract('RedisBroker (3-master cluster)', () => async (options) => {
  if (!cluster) throw new Error('cluster not started');
  return new RedisBroker({ cluster: cluster.nodes, keyPrefix: prefix(), ...options });
});
