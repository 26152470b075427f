import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suiteConfig } from './config.js';
import { Fleet } from './load/fleet.js';
import { openFilesLimit, pinSelf } from './proc.js';
import { killChildren } from './processes.js';
import { PAYLOAD_BYTES } from './publisher.js';
import { charts, markdown } from './report.js';
import { type FanoutRun, type FanoutShape, runFanout } from './scenarios/fanout.js';
import { floodMarkdown, runFlood } from './scenarios/flood.js';
import { type MemoryRun, runMemory } from './scenarios/memory.js';
import { runProfile } from './scenarios/profile.js';
import { type ConnectStorm, runConnectStorm, runReconnectStorm } from './scenarios/storm.js';
import { snapshotGateway } from './snapshot.js';
import { type Results, summarizeRuns } from './summary.js';
import { type SystemName, startSystem, useGatewayCli, useHoldVariant } from './systems.js';

/**
 * `npm run bench [-- --quick] [--only fanout,channels,cross,memory,storm,profile] [--rounds N] [--workers N] [--profile] [--search strict|lookahead] [--hold-variant MS]`
 * `npm run bench -- --report bench/results/latest.json` re-renders the markdown and charts of a run.
 *
 * Runs the issue-6 suite: every system as its own process pinned to core 0,
 * the load generator on core 1, interleaved rounds, medians. Writes
 * bench/results/latest.{json,md} and the SVG charts; progress goes to stderr.
 */
const argv = process.argv.slice(2);
const flagValue = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
// `--nodes 3 --redis` (the scale-out issue's command) runs the cross-node comparison only.
const crossOnly = argv.includes('--redis') || flagValue('nodes') !== undefined;
const scenarios = new Set(
  (flagValue('only') ?? (crossOnly ? 'cross' : 'fanout,channels,cross,memory,storm,flood,profile'))
    .split(',')
    .filter((s) => s !== 'profile' || !quick || argv.includes('--profile')),
);
if (argv.includes('--profile')) scenarios.add('profile');
const cfg = suiteConfig(quick, availableParallelism(), openFilesLimit());
const rounds = Number(flagValue('rounds'));
if (rounds > 0) cfg.rounds = Math.min(10, Math.floor(rounds));
const searchMode = flagValue('search') ?? 'strict';
if (searchMode !== 'strict' && searchMode !== 'lookahead') {
  process.stderr.write(`--search must be strict or lookahead, not "${searchMode}"\n`);
  process.exit(2);
}
if (searchMode === 'lookahead') cfg.search = { ...cfg.search, strict: false, start: 25_000, factor: 1.6 };
const holdVariant = Math.min(100, Math.max(0, Math.floor(Number(flagValue('hold-variant') ?? 0) || 0)));
if (holdVariant > 0) useHoldVariant(holdVariant);
const workers = Number(flagValue('workers'));
if (workers > 0) cfg.workers = Math.min(16, Math.floor(workers));
const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
const started = performance.now();

// `--report <results.json>`: only render the markdown and charts of an earlier run, beside its JSON.
const reportOf = flagValue('report');
if (reportOf !== undefined) {
  const earlier = JSON.parse(readFileSync(reportOf, 'utf8')) as Results;
  const dir = dirname(reportOf);
  const md = markdown(earlier, String(earlier.meta.command ?? 'npm run bench'));
  writeFileSync(join(dir, 'latest.md'), md);
  for (const [file, svg] of Object.entries(charts(earlier))) writeFileSync(join(dir, file), svg);
  process.stdout.write(md);
  process.exit(0);
}

if (cfg.loadCpu !== undefined && !pinSelf(cfg.loadCpu)) {
  log('taskset is not available: nothing is pinned');
  cfg.serverCpu = undefined;
  cfg.loadCpu = undefined;
}

const snapshot = snapshotGateway();
// Stopped by a signal (a terminal's Ctrl-C reaches the children too; kill or
// a supervisor sends it to this process only): exit, so that the handler
// below takes the systems under test, the load generator and the gateway's
// copy down with the bench.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
}
// On every way out (a signal, a crash, the end of the run): a bench that
// died of an error had left a gateway holding its sockets.
process.once('exit', () => {
  killChildren();
  snapshot.remove();
});
useGatewayCli(snapshot.cli);

const results: Results = {
  meta: {
    date: new Date().toISOString(),
    command,
    gatewayCommit: snapshot.commit,
    gatewaySourcesDirty: snapshot.dirty,
    quick,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    rounds: cfg.rounds,
    workers: cfg.workers,
    sources: cfg.sources,
    serverCpu: cfg.serverCpu,
    loadCpu: cfg.loadCpu,
    openFilesLimit: openFilesLimit(),
    payloadBytes: PAYLOAD_BYTES,
    subscribers: cfg.subscribers,
    channelsPerCall: cfg.channelsPerCall,
    stepMs: cfg.stepMs,
    search: cfg.search,
    ...(holdVariant > 0 ? { holdVariantMs: holdVariant } : {}),
    note: 'Measured on a shared 2-core machine: absolute numbers are noisy; compare ratios from the same run.',
  },
  fanout: [],
  channels: { skipped: 'not run' },
  cross: { skipped: 'not run' },
  memory: [],
  memoryMax: { skipped: 'not run' },
  connectStorm: [],
  reconnectStorm: { skipped: 'not run' },
  profile: { skipped: 'not run' },
};

const errors: string[] = [];
const skippedForTime: string[] = [];
/** False (and noted) once the suite's time budget is spent: later rounds are skipped, never cut short. */
function timeLeft(what: string): boolean {
  if (performance.now() - started < cfg.suiteBudgetMs) return true;
  skippedForTime.push(what);
  log(`- skipped (suite time budget spent): ${what}`);
  return false;
}
/** Runs one scenario piece; a failure is recorded and the suite goes on. */
async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    errors.push(message);
    log(`! ${message}`);
    return null;
  }
}

function save(): void {
  mkdirSync(resultsDir, { recursive: true });
  const meta = {
    ...results.meta,
    seconds: Math.round((performance.now() - started) / 1000),
    errors,
    skippedForTime,
  };
  writeFileSync(`${resultsDir}latest.json`, `${JSON.stringify({ ...results, meta })}\n`);
}

const fleet = await Fleet.start(cfg.workers, cfg.loadCpu);
try {
  const oneChannel: FanoutShape = {
    subscribers: cfg.subscribers,
    tenants: 0,
    channelsPerCall: 1,
    fixedStep: true,
    searchStart: cfg.search.start,
  };
  const singleNode: SystemName[] = ['albatross', 'ws-floor', 'socketio', 'socketio-redis-2'];
  // `--hold-variant MS`: the gateway with a longer adaptive write hold, in the same interleaved rounds.
  const fanoutSystems: SystemName[] =
    holdVariant > 0 ? ['albatross', 'albatross-hold', ...singleNode.slice(1)] : singleNode;

  if (scenarios.has('fanout')) {
    log(`# fan-out: saturation and p99 at ${cfg.fixedRate}/s (${cfg.rounds} interleaved rounds)`);
    for (let round = 1; round <= cfg.rounds; round++)
      for (const name of fanoutSystems) {
        if (round > 1 && !timeLeft(`fanout ${name} round ${round}`)) continue;
        const run = await attempt(`fanout ${name} round ${round}`, () =>
          runFanout(cfg, name, round, oneChannel, fleet, log),
        );
        if (run) results.fanout.push(run);
        save();
      }
  }
  const albatrossSaturation = summarizeRuns(results.fanout).find((s) => s.system === 'albatross')?.saturation ?? null;

  if (scenarios.has('channels')) {
    log('# many channels: 1,000 tenants x 10 subscribers');
    const runs: FanoutRun[] = [];
    const shape: FanoutShape = {
      subscribers: cfg.tenants * cfg.perTenant,
      tenants: cfg.tenants,
      channelsPerCall: cfg.channelsPerCall,
      fixedStep: false,
      // The strict search starts low for every system: a start above a
      // system's first failure would skip the steps that define it.
      searchStart: cfg.search.strict
        ? cfg.search.start
        : Math.max(cfg.search.start, Math.round((albatrossSaturation ?? 0) * 0.4)),
    };
    // Issue 14 #7: Socket.IO in the same layout (one room per tenant) and the
    // ws floor beside the gateway, interleaved like the one-channel rounds.
    for (let round = 1; round <= cfg.rounds; round++)
      for (const name of ['albatross', 'socketio', 'ws-floor'] as const) {
        if (round > 1 && !timeLeft(`many channels ${name} round ${round}`)) continue;
        const run = await attempt(`many channels ${name} round ${round}`, () =>
          runFanout(cfg, name, round, shape, fleet, log),
        );
        if (run) runs.push(run);
        save();
      }
    results.channels = runs;
  }

  if (scenarios.has('cross')) {
    log('# cross-node: 3 Albatross nodes + Redis vs Socket.IO + redis adapter, 3 nodes');
    const brokerDir = fileURLToPath(new URL('../../packages/server/src/broker/redis', import.meta.url));
    let reason: string | null = existsSync(brokerDir) ? null : 'skipped: redis broker not available';
    if (reason === null) {
      reason = await startSystem('albatross-redis-3', { cpu: cfg.serverCpu }).then(
        async (probe) => {
          await probe.stop();
          return null;
        },
        (error: unknown) => `skipped: redis broker not available (${String(error)})`,
      );
    }
    if (reason !== null) results.cross = { skipped: reason };
    else {
      const runs: FanoutRun[] = [];
      for (let round = 1; round <= cfg.rounds; round++)
        for (const name of ['albatross-redis-3', 'socketio-redis-3'] as const) {
          if (round > 1 && !timeLeft(`cross-node ${name} round ${round}`)) continue;
          const run = await attempt(`cross-node ${name} round ${round}`, () =>
            runFanout(cfg, name, round, { ...oneChannel, fixedStep: false }, fleet, log),
          );
          if (run) runs.push(run);
          save();
        }
      results.cross = runs;
    }
  }

  if (scenarios.has('memory')) {
    log(`# memory per idle connection at ${cfg.memoryCounts.join(', ')}`);
    for (let round = 1; round <= cfg.rounds; round++)
      for (const name of singleNode) {
        if (round > 1 && !timeLeft(`memory ${name} round ${round}`)) continue;
        const run: MemoryRun | null = await attempt(`memory ${name} round ${round}`, () =>
          runMemory(cfg, name, round, cfg.memoryCounts, fleet),
        );
        if (run) {
          results.memory.push(run);
          log(
            `  ${name} r${round}: ${run.points.map((p) => `${p.connections}: ${p.bytesPerConnection} B`).join(', ')}`,
          );
        }
        save();
      }
    if (cfg.memoryMax > 0) {
      const max = cfg.memoryMax;
      const counts = [...cfg.memoryCounts.filter((c) => c < max), max];
      const run = await attempt('memory albatross max', () => runMemory(cfg, 'albatross', 0, counts, fleet));
      results.memoryMax = run ?? { skipped: 'failed' };
      if (run && max < 50_000)
        results.memoryMax = {
          ...run,
          note: `50,000 not reachable here: the open-files limit is ${openFilesLimit()} per process and cannot be raised`,
        } as MemoryRun;
    } else results.memoryMax = { skipped: 'skipped in --quick' };
    save();
  }

  if (scenarios.has('storm')) {
    log('# connect storm and reconnect storm');
    for (const name of ['albatross', 'ws-floor'] as const) {
      const storm: ConnectStorm | null = await attempt(`connect storm ${name}`, () =>
        runConnectStorm(cfg, name, cfg.stormClients, fleet),
      );
      if (storm) {
        results.connectStorm.push(storm);
        log(`  ${name}: ${storm.connectsPerSecond} connects/s`);
      }
    }
    const re = await attempt('reconnect storm', () => runReconnectStorm(cfg, fleet));
    results.reconnectStorm = re ?? { skipped: 'failed' };
    if (re) log(`  reconnect: ${re.recovered}/${re.clients} in ${re.seconds} s`);
    save();
  }

  if (scenarios.has('flood')) {
    log('# flooding client beside healthy subscribers (production rate limit)');
    const flood = await attempt('flood', () => runFlood(cfg, fleet, log));
    results.flood = flood ?? { skipped: 'failed' };
    save();
  }

  if (scenarios.has('profile')) {
    // The highest rate Albatross sustained in any round: its saturation point on the quietest round.
    const best = Math.max(
      0,
      ...results.fanout.filter((r) => r.system === 'albatross').map((r) => r.search.best?.achieved ?? 0),
    );
    const rate = Number(flagValue('profile-rate')) || best || 50_000;
    log(`# CPU profile of the gateway at ${rate}/s`);
    const prof = await attempt('profile', () => runProfile(cfg, rate, fleet));
    results.profile = prof ?? { skipped: 'failed' };
    save();
  }
} finally {
  await fleet.stop(); // the gateway's copy goes in the exit handler above
}

save();
writeFileSync(`${resultsDir}latest.md`, markdown(results, command) + floodMarkdown(results.flood));
for (const [file, svg] of Object.entries(charts(results))) writeFileSync(`${resultsDir}${file}`, svg);
// A full run also keeps its own copy, which docs/performance.md links to.
if (!quick && scenarios.size >= 6) {
  mkdirSync(`${resultsDir}full`, { recursive: true });
  for (const file of ['latest.json', 'latest.md', ...Object.keys(charts(results))])
    copyFileSync(`${resultsDir}${file}`, `${resultsDir}full/${file}`);
}
log(markdown(results, command) + floodMarkdown(results.flood));
log(`done in ${Math.round((performance.now() - started) / 1000)} s`);
