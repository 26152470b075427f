import { runFanout } from './fanout.js';

/**
 * `npm run bench [-- --subscribers N --rate R --duration-ms D --payload-bytes B --quick]`:
 * prints one JSON object per scenario on stdout.
 */
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const quick = process.argv.includes('--quick');
const result = await runFanout({
  subscribers: arg('subscribers', quick ? 200 : 1000),
  rate: arg('rate', quick ? 100 : 200),
  durationMs: arg('duration-ms', quick ? 3000 : 10_000),
  payloadBytes: arg('payload-bytes', 64),
});
process.stdout.write(`${JSON.stringify(result)}\n`);
if (result.lost > 0) process.exitCode = 1;
