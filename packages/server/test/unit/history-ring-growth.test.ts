import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryRing } from '../../src/history/ring.js';

describe('HistoryRing growth', () => {
  it('behaves like "the last capacity entries within the TTL" whatever the capacity and interleaving', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.oneof(fc.constant<'push'>('push'), fc.integer({ min: 0, max: 30 })), { maxLength: 200 }),
        (capacity, ops) => {
          const ring = new HistoryRing<{ offset: number; ts: number }>(capacity, 10);
          const model: Array<{ offset: number; ts: number }> = [];
          let offset = 0;
          let now = 0;
          for (const op of ops) {
            if (op === 'push') {
              offset += 1;
              now += 1;
              const item = { offset, ts: now };
              ring.push(item);
              model.push(item);
              if (model.length > capacity) model.shift();
            } else {
              now += op;
              ring.trim(now);
              while (model.length > 0 && (model[0]?.ts ?? 0) < now - 10) model.shift();
            }
            expect(ring.size).toBe(model.length);
            expect(ring.oldestOffset()).toBe(model[0]?.offset);
            expect(ring.after(0)).toEqual(model);
          }
          const mid = Math.floor(offset / 2);
          expect(ring.after(mid, 3)).toEqual(model.filter((item) => item.offset > mid).slice(0, 3));
        },
      ),
      { numRuns: 300 },
    );
  });
});
