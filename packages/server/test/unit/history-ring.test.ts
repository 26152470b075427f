import { describe, expect, it } from 'vitest';
import { canRecover, HistoryRing } from '../../src/history/ring.js';

interface Item {
  offset: number;
  ts: number;
}
const item = (offset: number, ts = 0): Item => ({ offset, ts });
const offsets = (items: readonly Item[]) => items.map((i) => i.offset);

function filled(capacity: number, count: number, ttlMs = 1_000_000): HistoryRing<Item> {
  const ring = new HistoryRing<Item>(capacity, ttlMs);
  for (let i = 1; i <= count; i++) ring.push(item(i, i));
  return ring;
}

describe('HistoryRing', () => {
  it('rejects a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) expect(() => new HistoryRing(capacity, 1000)).toThrow();
  });

  it('starts empty', () => {
    const ring = new HistoryRing<Item>(3, 1000);
    expect(ring.size).toBe(0);
    expect(ring.oldestOffset()).toBeUndefined();
    expect(ring.after(0)).toEqual([]);
  });

  it('keeps at most capacity items, dropping the oldest, across several wrap-arounds', () => {
    const ring = new HistoryRing<Item>(3, 1_000_000);
    for (let i = 1; i <= 10; i++) {
      ring.push(item(i));
      expect(ring.size).toBe(Math.min(i, 3));
      expect(ring.oldestOffset()).toBe(Math.max(1, i - 2));
      expect(offsets(ring.after(0))).toEqual(Array.from({ length: Math.min(i, 3) }, (_, k) => Math.max(1, i - 2) + k));
    }
  });

  it('after() returns entries with offset > since, ascending, bounded by limit', () => {
    const ring = filled(5, 8); // keeps 4..8
    expect(offsets(ring.after(0))).toEqual([4, 5, 6, 7, 8]);
    expect(offsets(ring.after(3))).toEqual([4, 5, 6, 7, 8]);
    expect(offsets(ring.after(5))).toEqual([6, 7, 8]);
    expect(offsets(ring.after(7))).toEqual([8]);
    expect(ring.after(8)).toEqual([]);
    expect(ring.after(100)).toEqual([]);
    expect(offsets(ring.after(0, 2))).toEqual([4, 5]);
    expect(offsets(ring.after(5, 1))).toEqual([6]);
    expect(ring.after(0, 0)).toEqual([]);
  });

  it('trim() drops entries older than the TTL, oldest first, and keeps those at the cutoff', () => {
    const ring = new HistoryRing<Item>(10, 100);
    ring.push(item(1, 1000));
    ring.push(item(2, 1050));
    ring.push(item(3, 1100));
    ring.trim(1100); // cutoff 1000: ts 1000 stays
    expect(offsets(ring.after(0))).toEqual([1, 2, 3]);
    ring.trim(1101); // cutoff 1001
    expect(offsets(ring.after(0))).toEqual([2, 3]);
    expect(ring.oldestOffset()).toBe(2);
    ring.trim(1300);
    expect(ring.size).toBe(0);
    expect(ring.oldestOffset()).toBeUndefined();
    ring.push(item(4, 1300));
    expect(offsets(ring.after(0))).toEqual([4]);
  });

  it('trim() after a wrap-around', () => {
    const ring = new HistoryRing<Item>(3, 10);
    for (let i = 1; i <= 5; i++) ring.push(item(i, i * 10)); // keeps 3,4,5 with ts 30,40,50
    ring.trim(45); // cutoff 35
    expect(offsets(ring.after(0))).toEqual([4, 5]);
    ring.push(item(6, 60));
    ring.push(item(7, 70));
    expect(offsets(ring.after(0))).toEqual([5, 6, 7]);
  });

  it('clear() empties it', () => {
    const ring = filled(3, 5);
    ring.clear();
    expect(ring.size).toBe(0);
    expect(ring.after(0)).toEqual([]);
    ring.push(item(9));
    expect(offsets(ring.after(0))).toEqual([9]);
  });
});

describe('canRecover', () => {
  it('since == latest is always recoverable (nothing to replay), even with empty history', () => {
    expect(canRecover(0, 0, undefined, 10)).toBe(true);
    expect(canRecover(5, 5, undefined, 10)).toBe(true);
    expect(canRecover(5, 5, 1, 10)).toBe(true);
  });

  it('since > latest is not recoverable', () => {
    expect(canRecover(6, 5, 1, 10)).toBe(false);
    expect(canRecover(1, 0, undefined, 10)).toBe(false);
  });

  it('exactly the last history-size publications are recoverable', () => {
    // latest 20, size 5: since 15 (replay 16..20) yes, since 14 (6 publications) no.
    expect(canRecover(15, 20, 16, 5)).toBe(true);
    expect(canRecover(14, 20, 16, 5)).toBe(false);
    // Even if more happen to be kept.
    expect(canRecover(14, 20, 1, 5)).toBe(false);
    expect(canRecover(0, 20, 1, 5)).toBe(false);
    expect(canRecover(0, 5, 1, 5)).toBe(true);
  });

  it('needs the history to reach back to since + 1', () => {
    expect(canRecover(3, 8, 4, 100)).toBe(true);
    expect(canRecover(3, 8, 5, 100)).toBe(false); // 4 trimmed (TTL)
    expect(canRecover(3, 8, undefined, 100)).toBe(false); // everything trimmed
    expect(canRecover(0, 8, 1, 100)).toBe(true);
    expect(canRecover(0, 8, 2, 100)).toBe(false);
  });
});
