import { describe, expect, it } from 'vitest';
import { median, quantile, ratio, round, sampleInterval, summarize } from '../stats.js';

describe('statistics helpers', () => {
  it('quantile is nearest-rank on a sorted sample', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(v, 0.5)).toBe(50);
    expect(quantile(v, 0.99)).toBe(99);
    expect(quantile(v, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
  it('median sorts, ignores NaN and takes the lower middle', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });
  it('summarize gives p50/p99/max of an unsorted sample', () => {
    const v = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(summarize(v)).toEqual({ p50: 500, p99: 990, max: 1000, samples: 1000 });
    expect(summarize([]).p99).toBeNaN();
  });
  it('ratio is null when either side is missing', () => {
    expect(ratio(1, 4)).toBe(0.25);
    expect(ratio(null, 4)).toBeNull();
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(Number.NaN, 2)).toBeNull();
  });
  it('round and sampleInterval', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(Number.NaN)).toBeNaN();
    expect(sampleInterval(1_000_000, 20_000)).toBe(50);
    expect(sampleInterval(100, 20_000)).toBe(1);
  });
});
