import type { SearchOptions } from './saturation.js';

/** Every knob of one suite run; `--quick` shrinks them to a ~2-minute run. */
export interface SuiteConfig {
  quick: boolean;
  rounds: number;
  /** Load-generator processes (all on the load-generator core). */
  workers: number;
  /** Source addresses the subscribers connect from (past the ephemeral-port limit of one). */
  sources: string[];
  serverCpu: number | undefined;
  loadCpu: number | undefined;
  subscribers: number;
  stepMs: number;
  drainMs: number;
  warmupMs: number;
  fixedRate: number;
  /** Fixed-rate steps whose p99 the report lists (issue 14: 20k, 50k, 100k); `fixedRate` is among them. */
  fixedRates: number[];
  fixedMs: number;
  search: Omit<SearchOptions, 'clock' | 'disturbed'>;
  /** A step is disturbed when processes outside the bench used more than this many cores during it. */
  foreignLimit: number;
  /** Before a step, wait (at most this long) until other processes use less than `foreignLimit`. */
  quietWaitMs: number;
  memoryCounts: number[];
  /** Albatross alone at this many idle connections (0: skip). */
  memoryMax: number;
  stormClients: number;
  reconnectClients: number;
  reconnectMissed: number;
  tenants: number;
  perTenant: number;
  /** Channels per publish call in the many-channels scenario. */
  channelsPerCall: number;
  profileMs: number;
  /** No new system run starts after this much of the suite has passed. */
  suiteBudgetMs: number;
}

export function suiteConfig(quick: boolean, cores: number, fdLimit: number): SuiteConfig {
  const pinned = cores >= 2;
  // Each idle connection needs a descriptor in the server and one in a load-generator process.
  const memoryMax = quick ? 0 : Math.min(50_000, fdLimit - 500);
  return {
    quick,
    rounds: quick ? 1 : 3,
    workers: 2,
    sources: ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
    serverCpu: pinned ? 0 : undefined,
    loadCpu: pinned ? 1 : undefined,
    subscribers: 2000,
    stepMs: quick ? 1200 : 3000,
    drainMs: 2000,
    warmupMs: 1000,
    fixedRate: 100_000,
    fixedRates: [20_000, 50_000, 100_000],
    fixedMs: quick ? 1000 : 3000,
    // The strict search of issue 14 (from 20k, x1.4, stop at the first
    // failure, no retry of a failure); `--search lookahead` restores the
    // round-one search that climbs past near misses, and reports both points.
    search: {
      strict: true,
      start: 20_000,
      factor: 1.4,
      maxSteps: quick ? 12 : 14,
      refineSteps: quick ? 1 : 2,
      maxRate: 3_000_000,
      budgetMs: quick ? 60_000 : 120_000,
      p99LimitMs: 100,
      minRate: 2_000,
      retries: 1,
      disturbedRetries: quick ? 1 : 2,
      lookahead: 2,
      nearMissFactor: 2,
    },
    foreignLimit: 0.3,
    quietWaitMs: quick ? 2000 : 8000,
    memoryCounts: quick ? [2000] : [2000, 10_000],
    memoryMax,
    stormClients: quick ? 2000 : 10_000,
    reconnectClients: quick ? 2000 : 10_000,
    reconnectMissed: 50,
    tenants: 1000,
    perTenant: 10,
    channelsPerCall: 50,
    profileMs: 8000,
    suiteBudgetMs: quick ? 150_000 : 20 * 60_000,
  };
}
