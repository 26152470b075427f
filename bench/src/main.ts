import { runFanout } from './fanout.js';
import { runIdleMemory } from './idle-memory.js';
import { round } from './stats.js';

/**
 * `npm run bench [-- --quick] [--subscribers N --rate R --duration-ms D --payload-bytes B --idle N]`
 * Prints one JSON object per scenario on stdout, then a summary object.
 */
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const quick = process.argv.includes('--quick');
const fanoutOptions = {
  subscribers: arg('subscribers', quick ? 200 : 1000),
  rate: arg('rate', quick ? 100 : 200),
  durationMs: arg('duration-ms', quick ? 3000 : 10_000),
  payloadBytes: arg('payload-bytes', 64),
};
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const baseline = await runFanout(fanoutOptions);
print(baseline);
const flooded = await runFanout({ ...fanoutOptions, flood: true });
print(flooded);
const idle = await runIdleMemory(arg('idle', quick ? 1000 : 5000));
print(idle);
print({
  scenario: 'summary',
  deliveries_per_s: baseline.deliveries_per_s,
  p99_ms: baseline.latency_ms.p99,
  p99_under_flood_ms: flooded.latency_ms.p99,
  p99_flood_ratio: round(flooded.latency_ms.p99 / baseline.latency_ms.p99),
  idle_bytes_per_connection: idle.bytes_per_connection,
  lost: baseline.lost + flooded.lost,
});
if (baseline.lost > 0 || flooded.lost > 0) process.exitCode = 1;
