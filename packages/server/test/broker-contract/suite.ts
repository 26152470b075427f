import { afterEach, describe, expect, it } from 'vitest';
import { buildEventFrame } from '../../src/broker/event-frame.js';
import type { Broker, BrokerPublication, ControlMessage, PublishInput } from '../../src/broker/types.js';

/**
 * Makes a broker for one test. `factory()` opens a fresh deployment (own key
 * space); each call of the function it returns is one more node of that deployment.
 */
export type BrokerFactory = (options: { historySize?: number; historyTtlMs?: number }) => Promise<Broker>;

const input = (payload: unknown, eventType = 'test.event', meta?: unknown): PublishInput => ({
  eventType,
  payloadJson: JSON.stringify(payload),
  ...(meta === undefined ? {} : { metaJson: JSON.stringify(meta) }),
});

/** Waits until `list` has `count` items (bounded). */
async function until(list: readonly unknown[], count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (list.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out with ${list.length}/${count} publications`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The {@link Broker} contract every implementation must satisfy: run against
 * MemoryBroker, RedisBroker on a standalone Redis and RedisBroker on a
 * 3-master cluster.
 */
export function brokerContract(
  name: string,
  factory: () => BrokerFactory,
  options: { multiNode: boolean } = { multiNode: true },
): void {
  describe(`Broker contract: ${name}`, () => {
    const open: Broker[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((broker) => broker.close()));
    });

    async function started(
      options: { historySize?: number; historyTtlMs?: number } = {},
    ): Promise<{ broker: Broker; got: BrokerPublication[] }> {
      const broker = await factory()(options);
      open.push(broker);
      const got: BrokerPublication[] = [];
      await broker.start((publication) => got.push(publication));
      return { broker, got };
    }

    it('creates an epoch on first use and starts offsets at 0', async () => {
      const { broker } = await started();
      const first = await broker.position('tenant:t1:a');
      expect(first.offset).toBe(0);
      expect(first.epoch).toMatch(/^[0-9a-z]{8,}$/);
      expect(await broker.position('tenant:t1:a')).toEqual(first);
      const other = await broker.position('tenant:t1:b');
      expect(other.offset).toBe(0);
    });

    it('assigns offsets one by one per channel, in one epoch', async () => {
      const { broker } = await started();
      const position = await broker.position('tenant:t1:a');
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await broker.publish('tenant:t1:a', input({ i })));
      expect(results.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(results.map((r) => r.epoch))).toEqual(new Set([position.epoch]));
      expect(results.every((r) => r.channel === 'tenant:t1:a')).toBe(true);
      expect((await broker.publish('tenant:t1:b', input(1))).offset).toBe(1);
      expect(await broker.position('tenant:t1:a')).toEqual({ offset: 5, epoch: position.epoch });
    });

    it('delivers subscribed channels only, in offset order, as complete event frames', async () => {
      const { broker, got } = await started();
      await broker.subscribe('tenant:t1:a');
      await broker.publish('tenant:t1:a', input({ text: 'héllo ✓', n: [1, 2] }, 'note.created', { user_id: 'u1' }));
      await broker.publish('tenant:t1:b', input('not subscribed'));
      await broker.publish('tenant:t1:a', input(null, 'note.deleted'));
      await until(got, 2);
      await sleep(50);
      expect(got.map((p) => [p.channel, p.offset])).toEqual([
        ['tenant:t1:a', 1],
        ['tenant:t1:a', 2],
      ]);
      const [first, second] = got as [BrokerPublication, BrokerPublication];
      // The frame is byte-for-byte what buildEventFrame makes: same bytes on every broker.
      expect(
        first.data.equals(
          buildEventFrame(
            'tenant:t1:a',
            1,
            first.epoch,
            'note.created',
            first.ts,
            '{"text":"héllo ✓","n":[1,2]}',
            '{"user_id":"u1"}',
          ),
        ),
      ).toBe(true);
      expect(JSON.parse(second.data.toString('utf8'))).toEqual({
        type: 'event',
        channel: 'tenant:t1:a',
        offset: 2,
        epoch: first.epoch,
        event_type: 'note.deleted',
        ts: second.ts,
        payload: null,
      });
      expect(Math.abs(first.ts - Date.now())).toBeLessThan(60_000);
    });

    it('stops delivering after unsubscribe and resumes after subscribe', async () => {
      const { broker, got } = await started();
      await broker.subscribe('tenant:t1:a');
      await broker.publish('tenant:t1:a', input(1));
      await until(got, 1);
      await broker.unsubscribe('tenant:t1:a');
      await broker.publish('tenant:t1:a', input(2));
      await sleep(100);
      expect(got.map((p) => p.offset)).toEqual([1]);
      await broker.subscribe('tenant:t1:a');
      await broker.publish('tenant:t1:a', input(3));
      await until(got, 2);
      expect(got.map((p) => p.offset)).toEqual([1, 3]);
    });

    it('keeps order under concurrent publishes', async () => {
      const { broker, got } = await started();
      await broker.subscribe('tenant:t1:a');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => broker.publish('tenant:t1:a', input({ i }))),
      );
      expect(results.map((r) => r.offset).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      await until(got, 50);
      expect(got.map((p) => p.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('recovers all or nothing: exactly the last historySize publications', async () => {
      const { broker } = await started({ historySize: 5 });
      const { epoch } = await broker.position('tenant:t1:a');
      for (let i = 1; i <= 8; i++) await broker.publish('tenant:t1:a', input({ i }));

      const latest = await broker.recover('tenant:t1:a', { epoch, offset: 8 });
      expect(latest).toMatchObject({ recovered: true, position: { epoch, offset: 8 }, publications: [] });

      const within = await broker.recover('tenant:t1:a', { epoch, offset: 3 });
      expect(within.recovered).toBe(true);
      expect(within.publications.map((p) => p.offset)).toEqual([4, 5, 6, 7, 8]);
      expect(JSON.parse(within.publications[0]?.data.toString() ?? '{}')).toMatchObject({
        offset: 4,
        payload: { i: 4 },
      });

      for (const since of [
        { epoch, offset: 2 }, // trimmed: 6 publications ago
        { epoch, offset: 9 }, // ahead of the channel
        { epoch: 'other-epoch', offset: 8 }, // another epoch
        { epoch: 'other-epoch', offset: 0 },
      ]) {
        const answer = await broker.recover('tenant:t1:a', since);
        expect(answer, JSON.stringify(since)).toMatchObject({ recovered: false, publications: [] });
        expect(answer.position).toEqual({ epoch, offset: 8 });
      }
    });

    it('recovers from offset 0 of a young channel, and a new channel from 0', async () => {
      const { broker } = await started({ historySize: 5 });
      const { epoch } = await broker.position('tenant:t1:a');
      expect(await broker.recover('tenant:t1:a', { epoch, offset: 0 })).toMatchObject({ recovered: true });
      await broker.publish('tenant:t1:a', input(1));
      await broker.publish('tenant:t1:a', input(2));
      const answer = await broker.recover('tenant:t1:a', { epoch, offset: 0 });
      expect(answer.recovered).toBe(true);
      expect(answer.publications.map((p) => p.offset)).toEqual([1, 2]);
    });

    it('forgets publications older than historyTtlMs', async () => {
      // A TTL long enough that the first recover surely comes before it on a loaded machine.
      const { broker } = await started({ historySize: 10, historyTtlMs: 2000 });
      const { epoch } = await broker.position('tenant:t1:a');
      await broker.publish('tenant:t1:a', input(1));
      expect((await broker.recover('tenant:t1:a', { epoch, offset: 0 })).recovered).toBe(true);
      await sleep(2500);
      (broker as { sweep?: () => void }).sweep?.();
      const answer = await broker.recover('tenant:t1:a', { epoch, offset: 0 });
      expect(answer.recovered).toBe(false);
      expect((await broker.history('tenant:t1:a', 0, 10)).publications).toEqual([]);
    });

    it('forgets a channel nobody published to after historyTtlMs, keeps a published one (D2)', async () => {
      const { broker } = await started({ historyTtlMs: 400 });
      const unused = await broker.position('tenant:t1:made-up');
      const published = await broker.publish('tenant:t1:used', input(1));
      // Poll (each read refreshes the channel, so not faster than its TTL) until the
      // never-published channel is forgotten: the next read starts a new epoch. Bounded.
      const deadline = Date.now() + 15_000;
      let now = unused;
      while (now.epoch === unused.epoch && Date.now() < deadline) {
        await sleep(1500);
        now = await broker.position('tenant:t1:made-up');
      }
      expect(now.offset).toBe(0);
      expect(now.epoch).not.toBe(unused.epoch);
      // The published channel outlived that: same epoch, same offset, although its history expired.
      expect(await broker.position('tenant:t1:used')).toEqual({ offset: 1, epoch: published.epoch });
    }, 20_000);

    it('pages history: offset > since, ascending, limited, recoverable only', async () => {
      const { broker } = await started({ historySize: 5 });
      const never = await broker.history('tenant:t1:new', 0, 10);
      expect(never.position.offset).toBe(0);
      expect(never.position.epoch.length).toBeGreaterThan(0);
      expect(never.publications).toEqual([]);
      for (let i = 1; i <= 8; i++) await broker.publish('tenant:t1:a', input({ i }));
      const all = await broker.history('tenant:t1:a', 0, 100);
      expect(all.position.offset).toBe(8);
      expect(all.publications.map((p) => p.offset)).toEqual([4, 5, 6, 7, 8]);
      expect((await broker.history('tenant:t1:a', 5, 2)).publications.map((p) => p.offset)).toEqual([6, 7]);
      expect((await broker.history('tenant:t1:a', 8, 10)).publications).toEqual([]);
      expect((await broker.history('tenant:t1:a', 20, 10)).publications).toEqual([]);
    });

    it('runs an idempotent publish once, whoever calls concurrently', async () => {
      const { broker } = await started();
      let calls = 0;
      const run = async () => {
        calls += 1;
        await sleep(30);
        return broker.publish('tenant:t1:a', input({ once: true }));
      };
      const results = await Promise.all(
        Array.from({ length: 10 }, () => broker.idempotency.once('key-1', 60_000, run)),
      );
      expect(calls).toBe(1);
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
      expect(results[0]?.offset).toBe(1);
      const later = await broker.idempotency.once('key-1', 60_000, run);
      expect(later).toEqual(results[0]);
      expect(calls).toBe(1);
      expect((await broker.position('tenant:t1:a')).offset).toBe(1);
    });

    it('lets a failed idempotent publish be retried', async () => {
      const { broker } = await started();
      await expect(
        broker.idempotency.once('key-2', 60_000, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const result = await broker.idempotency.once('key-2', 60_000, async () => ({ ok: 1 }));
      expect(result).toEqual({ ok: 1 });
    });

    async function node(
      make: BrokerFactory,
    ): Promise<{ broker: Broker; got: BrokerPublication[]; control: ControlMessage[] }> {
      const broker = await make({});
      open.push(broker);
      const got: BrokerPublication[] = [];
      const control: ControlMessage[] = [];
      await broker.start(
        (publication) => got.push(publication),
        (message) => control.push(message),
      );
      return { broker, got, control };
    }

    const disconnect = (origin: string, user: string): ControlMessage => ({
      kind: 'disconnect',
      origin,
      filter: { user_id: user, tenant_id: 't1' },
    });

    it('broadcasts control messages to the sender, once each, in order, never as publications', async () => {
      const a = await node(factory());
      await a.broker.subscribe('tenant:t1:a');
      await a.broker.broadcast(disconnect('node-a', 'u1'));
      await a.broker.broadcast(disconnect('node-a', 'u2'));
      await until(a.control, 2);
      await sleep(50);
      expect(a.control).toEqual([disconnect('node-a', 'u1'), disconnect('node-a', 'u2')]);
      expect(a.got).toEqual([]);
    });

    if (options.multiNode) {
      it('broadcasts control messages to every node of the deployment, and to no other deployment', async () => {
        const make = factory();
        const [a, b] = [await node(make), await node(make)];
        const stranger = await node(factory());
        await b.broker.broadcast(disconnect('node-b', 'u9'));
        await until(a.control, 1);
        await until(b.control, 1);
        await sleep(100);
        expect(a.control).toEqual([disconnect('node-b', 'u9')]);
        expect(b.control).toEqual([disconnect('node-b', 'u9')]);
        expect(stranger.control).toEqual([]);
        // A channel publication is not a control message, and the reverse.
        await a.broker.subscribe('tenant:t1:a');
        await b.broker.publish('tenant:t1:a', input({ n: 1 }));
        await until(a.got, 1);
        expect(a.control).toHaveLength(1);
      });
    }

    it('refuses to broadcast once closed', async () => {
      const { broker } = await started();
      await broker.close();
      await expect(broker.broadcast(disconnect('x', 'u1'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });

    it('reports health', async () => {
      const { broker } = await started();
      expect((await broker.health()).status).toBe('ok');
      expect(typeof broker.kind).toBe('string');
    });
  });
}
