import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, type Scheduled } from '../../src/connection/deadlines.js';

class Item implements Scheduled {
  deadlineAt = 0;
  deadlineSlot = -1;
  constructor(readonly name: string) {}
}

describe('DeadlineQueue (one shared timer for many deadlines)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function queue() {
    const fired: Array<{ name: string; at: number }> = [];
    const q = new DeadlineQueue<Item>((item) => fired.push({ name: item.name, at: Date.now() }));
    return { q, fired };
  }

  it('fires each of many items exactly once, at its deadline and not before, with one timer', () => {
    const { q, fired } = queue();
    const items = Array.from({ length: 1000 }, (_, i) => new Item(`c${i}`));
    // Deadlines in a scrambled order, several sharing a millisecond.
    const start = Date.now();
    const due = new Map(items.map((item, i) => [item, start + 1 + ((i * 7919) % 500)]));
    for (const [item, at] of due) q.schedule(item, at);
    expect(q.size).toBe(1000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(fired).toHaveLength(1000);
    expect(new Set(fired.map((f) => f.name)).size).toBe(1000);
    for (const f of fired) {
      const item = items[Number(f.name.slice(1))] as Item;
      expect(f.at).toBe(due.get(item));
    }
    // In deadline order.
    expect(fired.map((f) => f.at)).toEqual([...fired.map((f) => f.at)].sort((a, b) => a - b));
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    for (const item of items) expect(item.deadlineSlot).toBe(-1);
  });

  it('a cancelled item never fires; the others still do', () => {
    const { q, fired } = queue();
    const items = Array.from({ length: 100 }, (_, i) => new Item(`c${i}`));
    items.forEach((item, i) => {
      q.schedule(item, Date.now() + 10 + i);
    });
    // Cancel every third one, the earliest among them, as a closing connection does.
    const cancelled = items.filter((_, i) => i % 3 === 0);
    for (const item of cancelled) q.cancel(item);
    expect(q.size).toBe(100 - cancelled.length);
    vi.advanceTimersByTime(200);
    const names = new Set(fired.map((f) => f.name));
    for (const item of cancelled) expect(names.has(item.name)).toBe(false);
    expect(fired).toHaveLength(100 - cancelled.length);
  });

  it('leaves nothing behind once every item is cancelled: no item, no timer', () => {
    const { q, fired } = queue();
    const items = Array.from({ length: 50 }, (_, i) => new Item(`c${i}`));
    for (const item of items) q.schedule(item, Date.now() + 1000);
    for (const item of items) q.cancel(item);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(fired).toEqual([]);
    // Cancelling twice, or an item never queued, is harmless.
    q.cancel(items[0] as Item);
    q.cancel(new Item('never'));
    expect(q.size).toBe(0);
  });

  it('scheduling again moves the deadline (a token refresh), earlier or later', () => {
    const { q, fired } = queue();
    const a = new Item('a');
    const b = new Item('b');
    const t0 = Date.now();
    q.schedule(a, t0 + 100);
    q.schedule(b, t0 + 200);
    q.schedule(a, t0 + 300);
    q.schedule(b, t0 + 50);
    expect(q.size).toBe(2);
    vi.advanceTimersByTime(400);
    expect(fired).toEqual([
      { name: 'b', at: t0 + 50 },
      { name: 'a', at: t0 + 300 },
    ]);
  });

  it('an item may be scheduled again from its own callback', () => {
    let runs = 0;
    const item = new Item('x');
    const q: DeadlineQueue<Item> = new DeadlineQueue<Item>((it) => {
      runs += 1;
      if (runs < 3) q.schedule(it, Date.now() + 10);
    });
    q.schedule(item, Date.now() + 10);
    vi.advanceTimersByTime(100);
    expect(runs).toBe(3);
    expect(q.size).toBe(0);
  });

  it('does not fire before the deadline on its own clock, even when the timer comes early', () => {
    // The clock the deadlines are on lags behind the timers' (a wall clock stepped back).
    let clock = 0;
    const fired: string[] = [];
    const q = new DeadlineQueue<Item>(
      (item) => fired.push(item.name),
      () => clock,
    );
    q.schedule(new Item('late'), 100);
    vi.advanceTimersByTime(100); // the timer fires, but the clock says 0
    expect(fired).toEqual([]);
    expect(q.size).toBe(1);
    clock = 100;
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['late']);
  });

  it('waits in steps for deadlines beyond the longest timer delay', () => {
    const { q, fired } = queue();
    const far = Date.now() + 2 ** 31 + 5000;
    q.schedule(new Item('far'), far);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(6000);
    expect(fired).toEqual([{ name: 'far', at: far }]);
  });

  it('an item held by another queue is not touched by this one', () => {
    const one = queue();
    const two = queue();
    const item = new Item('x');
    one.q.schedule(item, Date.now() + 10);
    two.q.cancel(item);
    expect(two.q.has(item)).toBe(false);
    expect(one.q.has(item)).toBe(true);
    vi.advanceTimersByTime(10);
    expect(one.fired.map((f) => f.name)).toEqual(['x']);
  });

  it('clear() forgets every item and stops the timer', () => {
    const { q, fired } = queue();
    const items = [new Item('a'), new Item('b')];
    for (const item of items) q.schedule(item, Date.now() + 10);
    q.clear();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    for (const item of items) expect(item.deadlineSlot).toBe(-1);
  });
});
