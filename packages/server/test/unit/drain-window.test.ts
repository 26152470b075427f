import { describe, expect, it } from 'vitest';
import { DRAIN_MS_PER_CONNECTION, drainWindowMs } from '../../src/drain-window.js';

describe('drain window', () => {
  it('grows with the connection count (1 ms each: ~1000 reconnects/s), capped by --drain-ms', () => {
    expect(DRAIN_MS_PER_CONNECTION).toBe(1);
    expect(drainWindowMs(0, 10_000)).toBe(0);
    expect(drainWindowMs(1, 10_000)).toBe(1);
    expect(drainWindowMs(5, 10_000)).toBe(5);
    expect(drainWindowMs(2500, 10_000)).toBe(2500);
    expect(drainWindowMs(10_000, 10_000)).toBe(10_000);
    expect(drainWindowMs(1_000_000, 10_000)).toBe(10_000);
    expect(drainWindowMs(5000, 1000)).toBe(1000); // --dev's short cap
    expect(drainWindowMs(2, 20_000, 10_000)).toBe(20_000);
    expect(drainWindowMs(100, 0)).toBe(0);
    expect(drainWindowMs(100, 10_000, 0)).toBe(0); // 0 per connection: close everyone at once
  });
});
