/** The q-quantile (0..1) of a sorted sample, nearest-rank; NaN for an empty sample. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Median of an unsorted sample (the lower middle for an even count), ignoring NaN; NaN when empty. */
export function median(values: readonly number[]): number {
  return quantile(
    values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b),
    0.5,
  );
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

/** p50/p99/max in ms (2 decimals) of an unsorted latency sample. */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return {
    p50: round(quantile(list, 0.5)),
    p99: round(quantile(list, 0.99)),
    max: round(list[list.length - 1] ?? Number.NaN),
    samples: list.length,
  };
}

/** a / b rounded to 2 decimals; null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return round(a / b);
}

/** Sampling interval that keeps about `target` latency samples out of `expected` deliveries. */
export function sampleInterval(expected: number, target = 20_000): number {
  return Math.max(1, Math.floor(expected / target));
}
