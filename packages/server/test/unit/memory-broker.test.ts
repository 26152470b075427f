import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import { MemoryIdempotencyStore } from '../../src/broker/memory-idempotency.js';
import type { BrokerPublication, PublishInput } from '../../src/broker/types.js';

const input = (n: number): PublishInput => ({ eventType: 'e', payloadJson: JSON.stringify({ n }) });
const offsets = (items: readonly { offset: number }[]) => items.map((i) => i.offset);

class Clock {
  t = 1_000_000;
  now = () => this.t;
}

const brokers: MemoryBroker[] = [];
function broker(options: ConstructorParameters<typeof MemoryBroker>[0] = {}): MemoryBroker {
  const b = new MemoryBroker(options);
  brokers.push(b);
  return b;
}
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
});

describe('MemoryBroker offsets and epochs', () => {
  it('a new channel is at offset 0 with a non-empty epoch that stays put', async () => {
    const b = broker();
    const first = await b.position('a:b');
    expect(first.offset).toBe(0);
    expect(first.epoch).toMatch(/.+/);
    expect(await b.position('a:b')).toEqual(first);
    const r1 = await b.publish('a:b', input(1));
    expect(r1).toEqual({ channel: 'a:b', offset: 1, epoch: first.epoch });
  });

  it('offsets grow by exactly one per publication, per channel, and epochs differ across channels', async () => {
    const b = broker();
    for (let i = 1; i <= 5; i++) {
      expect((await b.publish('a:b', input(i))).offset).toBe(i);
      if (i <= 3) expect((await b.publish('c:d', input(i))).offset).toBe(i);
    }
    expect((await b.position('a:b')).offset).toBe(5);
    expect((await b.position('c:d')).offset).toBe(3);
    const e1 = (await b.position('a:b')).epoch;
    const e2 = (await b.position('c:d')).epoch;
    expect(e1).not.toBe(e2);
  });

  it('builds the event frame once, with every field', async () => {
    const clock = new Clock();
    const b = broker({ now: clock.now });
    const seen: BrokerPublication[] = [];
    await b.start((p) => seen.push(p));
    await b.subscribe('a:b');
    await b.publish('a:b', { eventType: 'user.created', payloadJson: '{"x":[1,2]}', metaJson: '{"user_id":"u1"}' });
    await b.publish('a:b', { eventType: 'n', payloadJson: 'null' });
    expect(seen).toHaveLength(2);
    const epoch = (await b.position('a:b')).epoch;
    expect(JSON.parse(seen[0]?.data.toString('utf8') ?? '')).toEqual({
      type: 'event',
      channel: 'a:b',
      offset: 1,
      epoch,
      event_type: 'user.created',
      ts: clock.t,
      payload: { x: [1, 2] },
      meta: { user_id: 'u1' },
    });
    const second = JSON.parse(seen[1]?.data.toString('utf8') ?? '');
    expect(second).toMatchObject({ offset: 2, payload: null });
    expect(second).not.toHaveProperty('meta');
  });

  it('delivers only subscribed channels, in offset order, and stops after unsubscribe', async () => {
    const b = broker();
    const seen: BrokerPublication[] = [];
    await b.start((p) => seen.push(p));
    await b.publish('a:b', input(0)); // nobody subscribed yet
    await b.subscribe('a:b');
    for (let i = 1; i <= 3; i++) await b.publish('a:b', input(i));
    await b.publish('c:d', input(9));
    await b.unsubscribe('a:b');
    await b.publish('a:b', input(4));
    await b.unsubscribe('never:used');
    expect(seen.map((p) => [p.channel, p.offset])).toEqual([
      ['a:b', 2],
      ['a:b', 3],
      ['a:b', 4],
    ]);
  });

  it('forgets an idle channel after channelIdleTtlMs: it restarts at offset 0 in a new epoch', async () => {
    const clock = new Clock();
    const b = broker({ now: clock.now, historyTtlMs: 1000, channelIdleTtlMs: 5000 });
    await b.publish('a:b', input(1));
    const before = await b.position('a:b');
    clock.t += 2000;
    b.sweep(); // history expired, but not idle long enough
    expect(await b.position('a:b')).toEqual(before);
    clock.t += 6000;
    b.sweep();
    const after = await b.position('a:b');
    expect(after.offset).toBe(0);
    expect(after.epoch).not.toBe(before.epoch);
    const recovery = await b.recover('a:b', before);
    expect(recovery.recovered).toBe(false);
  });

  it('keeps a subscribed channel however idle', async () => {
    const clock = new Clock();
    const b = broker({ now: clock.now, historyTtlMs: 1000, channelIdleTtlMs: 5000 });
    await b.subscribe('a:b');
    await b.publish('a:b', input(1));
    const before = await b.position('a:b');
    clock.t += 60_000;
    b.sweep();
    expect(await b.position('a:b')).toEqual(before);
  });

  it('history made on the first publication and dropped once expired: positions, recovery and history answer alike', async () => {
    const clock = new Clock();
    const b = broker({ now: clock.now, historyTtlMs: 1000 });
    await b.subscribe('a:b');
    const fresh = await b.position('a:b');
    // Never published: nothing to replay, up to date from offset 0.
    expect(await b.recover('a:b', fresh)).toEqual({ position: fresh, recovered: true, publications: [] });
    expect((await b.history('a:b', 0, 10)).publications).toEqual([]);
    await b.publish('a:b', input(1));
    await b.publish('a:b', input(2));
    expect(offsets((await b.recover('a:b', fresh)).publications)).toEqual([1, 2]);
    clock.t += 2000;
    b.sweep(); // every entry expired: the ring goes, the epoch and offset stay
    const position = await b.position('a:b');
    expect(position).toEqual({ offset: 2, epoch: fresh.epoch });
    expect(await b.recover('a:b', fresh)).toEqual({ position, recovered: false, publications: [] });
    expect(await b.recover('a:b', position)).toEqual({ position, recovered: true, publications: [] });
    expect((await b.history('a:b', 0, 10)).publications).toEqual([]);
    // Publishing again starts a new ring in the same epoch.
    await b.publish('a:b', input(3));
    expect(offsets((await b.recover('a:b', position)).publications)).toEqual([3]);
    expect(offsets((await b.history('a:b', 0, 10)).publications)).toEqual([3]);
  });

  it('reports health', async () => {
    expect((await broker().health()).status).toBe('ok');
  });
});

describe('MemoryBroker recovery (all or nothing)', () => {
  it('replays everything after since, ascending', async () => {
    const b = broker({ historySize: 10 });
    for (let i = 1; i <= 6; i++) await b.publish('a:b', input(i));
    const { epoch } = await b.position('a:b');
    const r = await b.recover('a:b', { offset: 2, epoch });
    expect(r.recovered).toBe(true);
    expect(r.position).toEqual({ offset: 6, epoch });
    expect(offsets(r.publications)).toEqual([3, 4, 5, 6]);
    expect(offsets((await b.recover('a:b', { offset: 0, epoch })).publications)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('since == latest: recovered with nothing to replay, also on an unused channel', async () => {
    const b = broker();
    await b.publish('a:b', input(1));
    const pos = await b.position('a:b');
    expect(await b.recover('a:b', pos)).toEqual({ position: pos, recovered: true, publications: [] });
    const fresh = await b.position('fresh:ch');
    expect(await b.recover('fresh:ch', { offset: 0, epoch: fresh.epoch })).toMatchObject({ recovered: true });
  });

  it('since > latest, or another epoch: not recovered, nothing replayed', async () => {
    const b = broker();
    for (let i = 1; i <= 3; i++) await b.publish('a:b', input(i));
    const { epoch } = await b.position('a:b');
    expect(await b.recover('a:b', { offset: 4, epoch })).toEqual({
      position: { offset: 3, epoch },
      recovered: false,
      publications: [],
    });
    expect(await b.recover('a:b', { offset: 1, epoch: 'other-epoch' })).toMatchObject({
      recovered: false,
      publications: [],
    });
    expect(await b.recover('a:b', { offset: 3, epoch: 'other-epoch' })).toMatchObject({ recovered: false });
  });

  it('exactly the last history-size publications are recoverable', async () => {
    const b = broker({ historySize: 5 });
    for (let i = 1; i <= 8; i++) await b.publish('a:b', input(i));
    const { epoch } = await b.position('a:b');
    expect(offsets((await b.recover('a:b', { offset: 3, epoch })).publications)).toEqual([4, 5, 6, 7, 8]);
    expect(await b.recover('a:b', { offset: 2, epoch })).toMatchObject({ recovered: false, publications: [] });
    expect(await b.recover('a:b', { offset: 0, epoch })).toMatchObject({ recovered: false, publications: [] });
  });

  it('TTL-expired history is not recoverable, but since == latest still is', async () => {
    const clock = new Clock();
    const b = broker({ now: clock.now, historySize: 100, historyTtlMs: 1000 });
    await b.publish('a:b', input(1));
    clock.t += 600;
    await b.publish('a:b', input(2));
    const { epoch } = await b.position('a:b');
    clock.t += 500; // offset 1 is 1100 ms old, offset 2 is 500 ms old
    expect(await b.recover('a:b', { offset: 0, epoch })).toMatchObject({ recovered: false, publications: [] });
    expect(offsets((await b.recover('a:b', { offset: 1, epoch })).publications)).toEqual([2]);
    clock.t += 1000;
    expect(await b.recover('a:b', { offset: 1, epoch })).toMatchObject({ recovered: false, publications: [] });
    expect(await b.recover('a:b', { offset: 2, epoch })).toMatchObject({ recovered: true, publications: [] });
  });
});

describe('MemoryBroker history', () => {
  it('pages by since and limit, ascending, only what is kept', async () => {
    const b = broker({ historySize: 5 });
    for (let i = 1; i <= 8; i++) await b.publish('a:b', input(i));
    const page = await b.history('a:b', 0, 100);
    expect(page.position.offset).toBe(8);
    expect(offsets(page.publications)).toEqual([4, 5, 6, 7, 8]);
    expect(offsets((await b.history('a:b', 5, 2)).publications)).toEqual([6, 7]);
    expect((await b.history('a:b', 8, 10)).publications).toEqual([]);
  });

  it('an unused channel answers offset 0 with the epoch its first publication will use', async () => {
    const b = broker();
    const page = await b.history('new:ch', 0, 10);
    expect(page.position.offset).toBe(0);
    expect(page.position.epoch).toMatch(/.+/);
    expect(page.publications).toEqual([]);
    expect((await b.publish('new:ch', input(1))).epoch).toBe(page.position.epoch);
  });
});

describe('MemoryIdempotencyStore', () => {
  it('runs the first call and returns its result to later ones within the TTL', async () => {
    const clock = new Clock();
    const store = new MemoryIdempotencyStore(clock.now);
    let runs = 0;
    const publish = async () => ++runs;
    expect(await store.once('k', 1000, publish)).toBe(1);
    clock.t += 999;
    expect(await store.once('k', 1000, publish)).toBe(1);
    expect(await store.once('other', 1000, publish)).toBe(2);
    clock.t += 1;
    expect(await store.once('k', 1000, publish)).toBe(3); // expired: runs again
    expect(runs).toBe(3);
  });

  it('concurrent calls with one key share one run', async () => {
    const store = new MemoryIdempotencyStore();
    let runs = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const publish = async () => {
      runs += 1;
      await gate;
      return { results: [runs] };
    };
    const all = Promise.all(Array.from({ length: 10 }, () => store.once('k', 60_000, publish)));
    release();
    const results = await all;
    expect(runs).toBe(1);
    for (const r of results) expect(r).toBe(results[0]);
  });

  it('a failed run forgets the key (every waiter sees the failure), so a retry runs again', async () => {
    const store = new MemoryIdempotencyStore();
    let runs = 0;
    const failing = async () => {
      runs += 1;
      throw new Error('broker down');
    };
    const a = store.once('k', 60_000, failing);
    const b = store.once('k', 60_000, failing);
    await expect(a).rejects.toThrow('broker down');
    await expect(b).rejects.toThrow('broker down');
    expect(runs).toBe(1);
    expect(store.size).toBe(0);
    expect(await store.once('k', 60_000, async () => 'ok')).toBe('ok');
    expect(await store.once('k', 60_000, async () => 'second')).toBe('ok');
  });

  it('sweep() drops expired keys only', () => {
    const clock = new Clock();
    const store = new MemoryIdempotencyStore(clock.now);
    void store.once('a', 100, async () => 1);
    void store.once('b', 1000, async () => 2);
    clock.t += 500;
    store.sweep();
    expect(store.size).toBe(1);
  });

  it('the broker exposes a working store', async () => {
    const b = broker();
    let runs = 0;
    const run = () => b.publish('a:b', input(++runs));
    const [x, y] = await Promise.all([b.idempotency.once('k', 60_000, run), b.idempotency.once('k', 60_000, run)]);
    expect(x).toEqual(y);
    expect((await b.position('a:b')).offset).toBe(1);
  });
});
