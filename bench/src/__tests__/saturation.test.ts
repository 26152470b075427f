import { describe, expect, it } from 'vitest';
import { passes, type SearchOptions, type StepOutcome, searchSaturation } from '../saturation.js';

/** A fake system: delivers whatever is attempted up to `capacity`, latency explodes past it. */
function fakeSystem(capacity: number) {
  const attempted: number[] = [];
  const run = async (rate: number): Promise<StepOutcome> => {
    attempted.push(rate);
    const over = rate > capacity;
    return { attempted: rate, achieved: over ? capacity : rate, p99Ms: over ? 900 : 20, lost: 0 };
  };
  return { run, attempted };
}

const options: SearchOptions = {
  start: 10_000,
  factor: 2,
  maxSteps: 10,
  refineSteps: 3,
  maxRate: 10_000_000,
  budgetMs: 60_000,
  p99LimitMs: 100,
  minRate: 100,
};

describe('passes', () => {
  it('needs p99 within the limit, nothing lost and the rate delivered', () => {
    const ok = { attempted: 100, achieved: 99, p99Ms: 50, lost: 0 };
    expect(passes(ok, 100)).toBe(true);
    expect(passes({ ...ok, p99Ms: 101 }, 100)).toBe(false);
    expect(passes({ ...ok, lost: 1 }, 100)).toBe(false);
    expect(passes({ ...ok, achieved: 80 }, 100)).toBe(false);
    expect(passes({ ...ok, p99Ms: Number.NaN }, 100)).toBe(false);
  });
});

describe('searchSaturation', () => {
  it('grows until a failure, then bisects towards the capacity', async () => {
    const fake = fakeSystem(100_000);
    const result = await searchSaturation(fake.run, options);
    expect(result.stoppedBy).toBe('failed');
    // 10k, 20k, 40k, 80k pass; 160k fails; 3 bisection steps between 80k and 160k.
    expect(fake.attempted.slice(0, 5)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
    expect(result.steps).toHaveLength(8);
    expect(result.best?.achieved).toBeGreaterThan(80_000);
    expect(result.best?.achieved).toBeLessThanOrEqual(100_000);
  });

  it('comes down when the first step already fails', async () => {
    const fake = fakeSystem(3_000);
    const result = await searchSaturation(fake.run, options);
    expect(fake.attempted.slice(0, 3)).toEqual([10_000, 5_000, 2_500]);
    expect(result.best?.attempted).toBeGreaterThanOrEqual(2_500);
    expect(result.best?.attempted).toBeLessThanOrEqual(3_000);
  });

  it('reports no best when nothing passes down to the minimum rate', async () => {
    const fake = fakeSystem(10);
    const result = await searchSaturation(fake.run, { ...options, minRate: 1_000 });
    expect(result.best).toBeNull();
    expect(fake.attempted.every((r) => r >= 1_000)).toBe(true);
  });

  it('stops at the rate bound and at the step bound', async () => {
    const capped = await searchSaturation(fakeSystem(1e12).run, { ...options, maxRate: 50_000 });
    expect(capped.stoppedBy).toBe('max-rate');
    expect(capped.best?.attempted).toBe(50_000);
    const fake = fakeSystem(1e12);
    const stepped = await searchSaturation(fake.run, { ...options, maxSteps: 4 });
    expect(stepped.stoppedBy).toBe('max-steps');
    expect(fake.attempted).toHaveLength(4);
  });

  it('stops starting steps once the time budget is spent', async () => {
    let now = 0;
    const fake = fakeSystem(1e12);
    const timed = async (rate: number) => {
      now += 1000;
      return fake.run(rate);
    };
    const result = await searchSaturation(timed, { ...options, budgetMs: 2500, clock: () => now });
    expect(result.stoppedBy).toBe('time');
    expect(fake.attempted.length).toBeLessThanOrEqual(4);
  });

  it('keeps the passing step with the highest achieved rate as best', async () => {
    const fake = fakeSystem(70_000);
    const result = await searchSaturation(fake.run, options);
    const passing = result.steps.filter((s) => passes(s, 100));
    expect(result.best?.achieved).toBe(Math.max(...passing.map((s) => s.achieved)));
  });
});

describe('searchSaturation with retries', () => {
  it('runs a failed rate once more and keeps going when the retry passes', async () => {
    const attempted: number[] = [];
    let stalled = false;
    // Capacity 100k, but the first attempt at 40k hits a stall of the machine.
    const run = async (rate: number): Promise<StepOutcome> => {
      attempted.push(rate);
      const stall = rate === 40_000 && !stalled;
      if (stall) stalled = true;
      const over = rate > 100_000 || stall;
      return { attempted: rate, achieved: rate, p99Ms: over ? 500 : 20, lost: 0 };
    };
    const result = await searchSaturation(run, { ...options, refineSteps: 0, retries: 1 });
    expect(attempted.slice(0, 5)).toEqual([10_000, 20_000, 40_000, 40_000, 80_000]);
    // 160k fails twice, then the search stops.
    expect(attempted.slice(-2)).toEqual([160_000, 160_000]);
    expect(result.best?.attempted).toBe(80_000);
  });
});

describe('searchSaturation with disturbed steps', () => {
  it('repeats a failed step that was disturbed, within its own bound', async () => {
    type Step = StepOutcome & { noisy: boolean };
    const attempted: number[] = [];
    let noisyLeft = 2;
    const run = async (rate: number): Promise<Step> => {
      attempted.push(rate);
      const noisy = rate === 20_000 && noisyLeft-- > 0;
      return { attempted: rate, achieved: rate, p99Ms: noisy || rate > 30_000 ? 500 : 20, lost: 0, noisy };
    };
    const result = await searchSaturation<Step>(run, {
      ...options,
      refineSteps: 0,
      retries: 0,
      disturbed: (s) => s.noisy,
      disturbedRetries: 2,
    });
    // 20k failed twice while disturbed, passed on the third run; 40k fails undisturbed and ends the search.
    expect(attempted).toEqual([10_000, 20_000, 20_000, 20_000, 40_000]);
    expect(result.best?.attempted).toBe(20_000);
  });
});

describe('searchSaturation past a near miss', () => {
  /** Passes up to 40k, misses narrowly around 64k (one write per frame), passes again from 100k to 300k. */
  const valley =
    (attempted: number[]) =>
    async (rate: number): Promise<StepOutcome> => {
      attempted.push(rate);
      const p99Ms = rate <= 40_000 ? 30 : rate < 90_000 ? 130 : rate <= 300_000 ? 60 : 900;
      return { attempted: rate, achieved: rate, p99Ms, lost: 0 };
    };

  it('looks further up after a near miss and finds the higher passing range', async () => {
    const attempted: number[] = [];
    const result = await searchSaturation(valley(attempted), { ...options, factor: 1.6, lookahead: 2, retries: 0 });
    expect(result.best?.attempted).toBeGreaterThan(250_000);
    expect(result.best?.attempted).toBeLessThanOrEqual(300_000);
    expect(result.stoppedBy).toBe('failed');
  });

  it('stops at the first failure without lookahead, and after a clear failure even with it', async () => {
    const attempted: number[] = [];
    const plain = await searchSaturation(valley(attempted), { ...options, factor: 1.6, refineSteps: 0, retries: 0 });
    expect(plain.best?.attempted).toBe(25_600);
    const clear = fakeSystem(50_000);
    const result = await searchSaturation(clear.run, { ...options, refineSteps: 0, retries: 0, lookahead: 2 });
    // 80k fails with p99 900 ms: not a near miss, so nothing above it is tried.
    expect(clear.attempted).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(result.best?.attempted).toBe(40_000);
  });
});

describe('the strict search (issue 14)', () => {
  const valley =
    (attempted: number[]) =>
    async (rate: number): Promise<StepOutcome> => {
      attempted.push(rate);
      const p99Ms = rate <= 40_000 ? 30 : rate < 90_000 ? 130 : rate <= 300_000 ? 60 : 900;
      return { attempted: rate, achieved: rate, p99Ms, lost: 0 };
    };

  it('stops at the first failure, retries nothing and never looks past the valley', async () => {
    const attempted: number[] = [];
    const result = await searchSaturation(valley(attempted), {
      ...options,
      factor: 1.6,
      refineSteps: 0,
      retries: 3,
      lookahead: 2,
      strict: true,
    });
    // 10k, 16k, 25.6k, 40.96k: the first failure (130 ms) ends it, not run again, nothing above tried.
    expect(attempted).toEqual([10_000, 16_000, 25_600, 40_960]);
    expect(result.mode).toBe('strict');
    expect(result.best?.attempted).toBe(25_600);
    expect(result.strictBest).toBe(result.best);
  });

  it('bisects only below the first failure', async () => {
    const attempted: number[] = [];
    const result = await searchSaturation(valley(attempted), { ...options, factor: 1.6, refineSteps: 2, strict: true });
    expect(attempted.every((r) => r <= 40_960)).toBe(true);
    expect(result.best?.attempted).toBeGreaterThan(25_600);
    expect(result.best?.attempted).toBeLessThanOrEqual(40_000);
  });

  it('the look-ahead search reports both: the best above the valley and the strict point below it', async () => {
    const attempted: number[] = [];
    const result = await searchSaturation(valley(attempted), { ...options, factor: 1.6, lookahead: 2, retries: 0 });
    expect(result.mode).toBe('lookahead');
    expect(result.best?.attempted).toBeGreaterThan(250_000);
    expect(result.strictBest?.attempted).toBe(25_600);
  });

  it('a step whose counts disagree with the server fails, even with everything else in bounds', async () => {
    const run = async (rate: number): Promise<StepOutcome> => ({
      attempted: rate,
      achieved: rate,
      p99Ms: 10,
      lost: 0,
      mismatch: rate >= 40_000,
    });
    const result = await searchSaturation(run, { ...options, refineSteps: 0, strict: true });
    expect(result.best?.attempted).toBe(20_000);
    expect(passes({ attempted: 1, achieved: 1, p99Ms: 1, lost: 0, mismatch: true }, 100)).toBe(false);
  });
});

describe('counterValue', () => {
  it('reads an unlabelled counter from Prometheus text, not a longer name that starts the same', async () => {
    const { counterValue } = await import('../measure.js');
    const text = [
      '# HELP albatross_deliveries_total Events sent to connections',
      '# TYPE albatross_deliveries_total counter',
      'albatross_deliveries_total_extra 5',
      'albatross_deliveries_total 123456',
      'albatross_coalesced_writes_total 7',
    ].join('\n');
    expect(counterValue(text, 'albatross_deliveries_total')).toBe(123_456);
    expect(counterValue(text, 'albatross_coalesced_writes_total')).toBe(7);
    expect(counterValue(text, 'albatross_coalesced_frames_total')).toBe(0);
  });
});
