/** What the search needs from one fixed-rate measurement step. */
export interface StepOutcome {
  /** Deliveries per second attempted (publish rate x subscribers per publication). */
  attempted: number;
  /** Deliveries per second received. */
  achieved: number;
  p99Ms: number;
  /** Deliveries expected but not received (after the drain). */
  lost: number;
  /**
   * The load generator's count disagrees with the server's own delivery
   * counter for the step (issue 14, item 8): the step fails, whatever else it
   * measured. Absent when the server has no such counter.
   */
  mismatch?: boolean;
}

export interface SearchOptions<T extends StepOutcome = StepOutcome> {
  /** First rate tried (deliveries/s). */
  start: number;
  /** Growth per step while steps pass (> 1). */
  factor: number;
  /** Upward steps at most. */
  maxSteps: number;
  /** Bisection steps between the last pass and the first failure. */
  refineSteps: number;
  /** Never attempt more than this. */
  maxRate: number;
  /** Stop starting new steps after this many ms. */
  budgetMs: number;
  p99LimitMs: number;
  /** Lowest rate tried when the first step fails. */
  minRate: number;
  /**
   * Attempts more at a rate that failed before it counts as failed (a shared
   * machine stalls now and then; a rate over capacity fails every time).
   */
  retries?: number;
  /**
   * A failed step that this says was disturbed (e.g. other processes took CPU
   * during it) is run again without using up `retries`, at most
   * `disturbedRetries` times per rate.
   */
  disturbed?: (step: T) => boolean;
  disturbedRetries?: number;
  /**
   * Rates tried above a near miss (a failure with nothing lost, the rate
   * delivered and p99 within `nearMissFactor` x the limit) before the upward
   * search ends: a server that coalesces writes under load can fail at a
   * middling rate and pass at a higher one.
   */
  lookahead?: number;
  nearMissFactor?: number;
  /**
   * The strict search (the default of the suite, issue 14): the upward
   * search stops at the first failing step, a failure is not retried
   * (`retries` and `lookahead` are ignored; only `disturbedRetries` re-run a
   * step that other processes disturbed), and the saturation point is the
   * highest rate that passed with every lower rate tried passing too.
   */
  strict?: boolean;
  clock?: () => number;
}

export type StopReason = 'failed' | 'max-rate' | 'max-steps' | 'time';

export interface SearchResult<T extends StepOutcome> {
  steps: T[];
  /**
   * The saturation point: in the strict search the same as `strictBest`; with
   * the look-ahead, the passing step with the highest achieved rate. Null
   * when none passed.
   */
  best: T | null;
  /**
   * The highest passing step below every rate that failed (each rate's
   * deciding attempt): the saturation a user who raises the load step by step
   * meets first. Null when none passed.
   */
  strictBest: T | null;
  mode: 'strict' | 'lookahead';
  stoppedBy: StopReason;
}

/**
 * A step passes when nothing was lost, p99 is within the limit and at least
 * 90% of the attempted rate was delivered (a publisher that fell behind, or
 * a drain that never finished, does not pass).
 */
export function passes(step: StepOutcome, p99LimitMs: number): boolean {
  return (
    step.lost === 0 &&
    step.mismatch !== true &&
    Number.isFinite(step.p99Ms) &&
    step.p99Ms <= p99LimitMs &&
    step.achieved >= 0.9 * step.attempted
  );
}

/**
 * Highest deliveries/s with p99 <= limit and nothing lost: grow the rate
 * geometrically until a step fails (or a bound is hit); past a near miss,
 * look `lookahead` rates further up (a pass there resumes the climb); step
 * down when the very first one fails; then bisect (geometrically) between the
 * highest pass and the failure just above it. Every loop is bounded in steps
 * and in time.
 */
export async function searchSaturation<T extends StepOutcome>(
  run: (rate: number) => Promise<T>,
  options: SearchOptions<T>,
): Promise<SearchResult<T>> {
  const clock = options.clock ?? (() => performance.now());
  const deadline = clock() + options.budgetMs;
  const strict = options.strict === true;
  const steps: T[] = [];
  /** The deciding attempt of every rate tried (a retried rate's last). */
  const decided: T[] = [];
  let best: T | null = null;
  let lowPass: number | null = null;
  let highFail: number | null = null;
  let stoppedBy: StopReason = 'max-steps';
  const ok = (step: T): boolean => passes(step, options.p99LimitMs);
  const keep = (step: T): void => {
    steps.push(step);
    if (ok(step) && (best === null || step.achieved > best.achieved)) best = step;
  };
  /** Runs `rate`, again up to `retries` times while it fails; the last attempt decides. */
  const attempt = async (rate: number): Promise<T> => {
    let step = await run(rate);
    keep(step);
    let retries = strict ? 0 : (options.retries ?? 0);
    let disturbedRetries = options.disturbedRetries ?? 0;
    while (!ok(step) && clock() <= deadline) {
      if (disturbedRetries > 0 && options.disturbed?.(step)) disturbedRetries--;
      else if (retries > 0) retries--;
      else break;
      step = await run(rate);
      keep(step);
    }
    decided.push(step);
    return step;
  };

  const nearMiss = (step: T): boolean =>
    step.lost === 0 &&
    step.achieved >= 0.9 * step.attempted &&
    step.p99Ms <= options.p99LimitMs * (options.nearMissFactor ?? 2);
  let misses = 0;
  let rate = Math.min(options.start, options.maxRate);
  for (let i = 0; i < options.maxSteps; i++) {
    if (clock() > deadline) {
      stoppedBy = 'time';
      break;
    }
    const step = await attempt(rate);
    if (!ok(step)) {
      highFail ??= rate;
      misses++;
      stoppedBy = 'failed';
      const lookahead = strict ? 0 : (options.lookahead ?? 0);
      if (lowPass === null || misses > lookahead || !nearMiss(step)) break;
    } else {
      lowPass = rate;
      highFail = null;
      misses = 0;
      stoppedBy = 'max-steps';
    }
    if (rate >= options.maxRate) {
      if (ok(step)) stoppedBy = 'max-rate';
      break;
    }
    rate = Math.min(options.maxRate, rate * options.factor);
  }

  // The first step failed: come down, a bounded number of times.
  if (lowPass === null && highFail !== null) {
    let failed: number = highFail;
    for (let down = 0; down < 4; down++) {
      const lower: number = failed / options.factor;
      if (lower < options.minRate || clock() > deadline) break;
      const step = await attempt(lower);
      if (ok(step)) {
        lowPass = lower;
        break;
      }
      failed = lower;
    }
    highFail = failed;
  }

  if (lowPass !== null && highFail !== null) {
    let lo = lowPass;
    let hi = highFail;
    for (let i = 0; i < options.refineSteps && clock() <= deadline; i++) {
      const mid = Math.sqrt(lo * hi);
      const step = await attempt(mid);
      if (ok(step)) lo = mid;
      else hi = mid;
    }
  }
  const strictBest = strictSaturation(decided, options.p99LimitMs);
  return { steps, best: strict ? strictBest : best, strictBest, mode: strict ? 'strict' : 'lookahead', stoppedBy };
}

/**
 * The highest passing step (by achieved rate) among the deciding attempts
 * below the lowest rate that failed: it and every lower rate tried passed.
 */
export function strictSaturation<T extends StepOutcome>(decided: readonly T[], p99LimitMs: number): T | null {
  let lowestFail = Number.POSITIVE_INFINITY;
  for (const step of decided) if (!passes(step, p99LimitMs)) lowestFail = Math.min(lowestFail, step.attempted);
  let best: T | null = null;
  for (const step of decided) {
    if (step.attempted >= lowestFail || !passes(step, p99LimitMs)) continue;
    if (best === null || step.achieved > best.achieved) best = step;
  }
  return best;
}
