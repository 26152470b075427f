import {
  createProjectionRunner,
  openEventStore,
  type Projection,
  type ProjectionRunner,
  type SqlEventStore,
} from '@albatross/cqrs';
import type { Page, Tenant, TokenResponse, User } from '@albatross/platform-api';
import { silentLogger } from '@albatross/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, readModelProjections, startPlatform } from '../src/index.js';
import { RedisQueryCache } from '../src/readmodel/cache.js';
import { Api, createTestDatabase, strongPassword } from './helpers.js';
import { startRedis, type TestRedis } from './support/services.js';

/**
 * Two platform nodes on one PostgreSQL database and one Redis, as behind a
 * load balancer. The read models are projected by a runner that is slowed
 * down on purpose, so a command that answered before its projections had
 * passed its position would be caught by the read that follows.
 */

// A redis-server of its own: channels such as `platform:tenants` exist in every
// platform, so a shared Redis would mix this test's events with another run's.
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

const SLOW_MS = 150;
const slow = (projection: Projection): Projection => ({
  ...projection,
  async apply(event, context) {
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
    await projection.apply(event, context);
  },
});

describe('two nodes starting together on an empty store', () => {
  it('create one admin: one node prints a one-time password, the other nothing', async () => {
    const db = await createTestDatabase();
    const stores: SqlEventStore[] = [];
    const nodes: Platform[] = [];
    try {
      stores.push(await openEventStore({ url: db.url }), await openEventStore({ url: db.url }));
      nodes.push(
        ...(await Promise.all(
          stores.map((store) => startPlatform({ store, port: 0, logger: silentLogger, redisUrl: redis.url })),
        )),
      );
      const boots = nodes.map((n) => n.bootstrap).filter((b) => b !== null);
      expect(boots).toHaveLength(1);
      const admins = await stores[0]?.driver.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM users WHERE roles @> '["PlatformAdmin"]'::jsonb`,
      );
      expect(Number(admins?.[0]?.n)).toBe(1);
      const tenants = await stores[0]?.driver.query<{ n: unknown }>('SELECT count(*) AS n FROM tenants');
      expect(Number(tenants?.[0]?.n)).toBe(1);
      // Both nodes accept that password and share one signing key set.
      for (const node of nodes) {
        const login = await new Api(node.url).post('/api/auth/login', {
          email: boots[0]?.email,
          password: boots[0]?.password,
        });
        expect(login.status).toBe(200);
      }
    } finally {
      for (const node of nodes) await node.close();
      for (const store of stores) await store.close();
      await db.drop();
    }
  });
});

describe('a node started without projections on an empty store, before any worker', () => {
  it('still starts and returns the one-time password, which works once a worker has caught up', async () => {
    const db = await createTestDatabase();
    const store = await openEventStore({ url: db.url });
    let node: Platform | undefined;
    let worker: ProjectionRunner | undefined;
    try {
      node = await startPlatform({ store, port: 0, logger: silentLogger, runProjections: false });
      const boot = node.bootstrap;
      expect(boot?.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      worker = createProjectionRunner(store, readModelProjections, { pollIntervalMs: 50 });
      await worker.start();
      const deadline = Date.now() + 30_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) {
        status = (await new Api(node.url).post('/api/auth/login', { email: boot?.email, password: boot?.password }))
          .status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(200);
    } finally {
      await node?.close();
      await worker?.stop();
      await store.close();
      await db.drop();
    }
  });
});

describe('read-your-writes across nodes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const stores: SqlEventStore[] = [];
  let runner: ProjectionRunner;
  let a: Platform;
  let b: Platform;
  let onA: Api;
  let onB: Api;

  beforeAll(async () => {
    db = await createTestDatabase();
    stores.push(
      await openEventStore({ url: db.url }),
      await openEventStore({ url: db.url }),
      await openEventStore({ url: db.url }),
    );
    const [runnerStore, storeA, storeB] = stores as [SqlEventStore, SqlEventStore, SqlEventStore];
    // The platform's own tables exist before the projections bump cache versions in them.
    const { default: projections } = await import('../src/projections.js');
    await projections(runnerStore);
    runner = createProjectionRunner(runnerStore, readModelProjections.map(slow), { pollIntervalMs: 50 });
    await runner.start();
    const common = { port: 0, logger: silentLogger, redisUrl: redis.url, runProjections: false } as const;
    a = await startPlatform({ ...common, store: storeA });
    b = await startPlatform({ ...common, store: storeB });
    const boot = a.bootstrap ?? b.bootstrap;
    const first = await new Api(a.url).post<TokenResponse>('/api/auth/login', {
      email: boot?.email,
      password: boot?.password,
    });
    const changed = await new Api(a.url, first.body.access_token).post<TokenResponse>('/api/me/password', {
      current_password: boot?.password,
      new_password: strongPassword(),
    });
    onA = new Api(a.url, changed.body.access_token);
    onB = new Api(b.url, changed.body.access_token);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await runner?.stop();
    for (const store of stores) await store.close();
    await db?.drop();
  });

  it('a write on one node is seen by the next read on the other, cached lists included', async () => {
    expect(a.context.cache).toBeInstanceOf(RedisQueryCache);
    const created = await onA.post<Tenant>('/api/tenants', { name: 'two-node tenant' });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('two-node tenant');
    expect((await onB.get<Tenant>(`/api/tenants/${created.body.id}`)).status).toBe(200);
    for (let i = 0; i < 4; i++) {
      // Warm both nodes' caches with the current answer, write on one, read on both.
      await onA.get('/api/tenants?limit=200');
      await onB.get('/api/tenants?limit=200');
      const name = `two-node ${i}`;
      const writer = i % 2 === 0 ? onA : onB;
      const renamed = await writer.patch<Tenant>(`/api/tenants/${created.body.id}`, { name });
      expect(renamed.body.name).toBe(name);
      for (const reader of [onA, onB]) {
        const list = await reader.get<Page<Tenant>>('/api/tenants?limit=200');
        expect(list.body.items.find((x) => x.id === created.body.id)?.name).toBe(name);
      }
    }
    const user = await onB.post<User>(`/api/tenants/${created.body.id}/users`, {
      email: `two-node-${created.body.id}@example.com`,
      display_name: 'Two nodes',
      roles: ['Pilot'],
    });
    expect(user.status).toBe(201);
    const listed = await onA.get<Page<User>>(`/api/users?tenant_id=${created.body.id}`);
    expect(listed.body.items.map((u) => u.id)).toEqual([user.body.id]);
  });
});
