import type { FanoutRun } from './scenarios/fanout.js';
import type { FloodRun } from './scenarios/flood.js';
import type { MemoryRun } from './scenarios/memory.js';
import type { ProfileSummary } from './scenarios/profile.js';
import type { ConnectStorm, ReconnectStorm } from './scenarios/storm.js';
import { median, ratio, round } from './stats.js';
import type { SystemName } from './systems.js';

export interface Skipped {
  skipped: string;
}

export interface Results {
  meta: Record<string, unknown>;
  fanout: FanoutRun[];
  channels: FanoutRun[] | Skipped;
  cross: FanoutRun[] | Skipped;
  memory: MemoryRun[];
  memoryMax: MemoryRun | Skipped;
  connectStorm: ConnectStorm[];
  reconnectStorm: ReconnectStorm | Skipped;
  profile: ProfileSummary | Skipped;
  /** Healthy subscribers' p99 with a flooding client beside them (issue 3). */
  flood?: FloodRun | Skipped;
}

export interface SystemSummary {
  system: SystemName;
  rounds: number;
  /** Median over rounds of the highest passing deliveries/s (null when no step passed). */
  saturation: number | null;
  saturationPerRound: (number | null)[];
  /** Median over rounds of server CPU µs per delivery at each round's saturation step. */
  usPerDelivery: number | null;
  /** Median over rounds of the load generator's share of its core at the saturation step. */
  loadGenShare: number | null;
  /** Median over rounds, at the saturation step: other processes' CPU on the machine (cores), server share, frames per load-generator read. */
  foreignShare: number | null;
  loadGenUsPerDelivery: number | null;
  serverShare: number | null;
  framesPerRead: number | null;
  /** True when the load generator used >= 90% of its core at the saturation step or the next (failing) one. */
  loadGenLimited: boolean;
  /** True when every round's search ended because a bound (steps, time, max rate) stopped it, not a failure. */
  searchBounded: boolean;
  p99At100k: number | null;
  lostAt100k: number | null;
  /** Medians of the fixed 100k step: p50, the gateway's frames per write, mean flush and the flushes' share of the step. */
  at100k: {
    p50: number | null;
    framesPerWrite: number | null;
    flushMs: number | null;
    flushShare: number | null;
  };
  /** Median p99 (ms) of the fixed steps by attempted rate (20k, 50k, 100k). */
  p99At: Record<string, number | null>;
  /** Which search decided `saturation` (strict unless `--search lookahead`). */
  searchMode: 'strict' | 'lookahead';
  /** Median over rounds of the strict saturation point (the same as `saturation` in the strict search). */
  strictSaturation: number | null;
  /** Median server CPU per delivery at the strict point. */
  strictUsPerDelivery: number | null;
  /** Median frames per socket write at the saturation point by the server's own counters (Albatross only). */
  serverFramesPerWrite: number | null;
  /** Steps whose load-generator count disagreed with the server's /metrics (they failed). */
  mismatches: number;
  memory: Record<string, number | null>;
}

export const isSkipped = (v: unknown): v is Skipped => typeof v === 'object' && v !== null && 'skipped' in v;

const med = (values: (number | null | undefined)[]): number | null => {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};

export function summarizeRuns(runs: FanoutRun[], memory: MemoryRun[] = []): SystemSummary[] {
  // Systems with only memory runs (`--only memory`) get a row too.
  const names = [...new Set([...runs.map((r) => r.system), ...memory.map((m) => m.system)])];
  return names.map((system) => {
    const mine = runs.filter((r) => r.system === system);
    const best = mine.map((r) => r.search.best);
    const limited = mine.some((r) => {
      const b = r.search.best;
      if (!b) return false;
      const next = r.search.steps.find((s) => s.attempted > b.attempted && s !== b);
      return b.loadGenCpuShare >= 0.9 || (next?.loadGenCpuShare ?? 0) >= 0.9;
    });
    const mem: Record<string, number | null> = {};
    for (const m of memory.filter((x) => x.system === system)) for (const p of m.points) mem[p.connections] = null;
    for (const count of Object.keys(mem))
      mem[count] = med(
        memory
          .filter((x) => x.system === system)
          .map((x) => x.points.find((p) => String(p.connections) === count)?.bytesPerConnection),
      );
    return {
      system,
      rounds: mine.length,
      saturation: med(best.map((b) => b?.achieved)),
      saturationPerRound: best.map((b) => b?.achieved ?? null),
      usPerDelivery: med(best.map((b) => b?.serverUsPerDelivery)),
      loadGenShare: med(best.map((b) => b?.loadGenCpuShare)),
      loadGenUsPerDelivery: med(best.map((b) => b?.loadGenUsPerDelivery)),
      foreignShare: med(best.map((b) => b?.foreignCpuShare)),
      serverShare: med(best.map((b) => b?.serverCpuShare)),
      framesPerRead: med(best.map((b) => b?.framesPerRead)),
      loadGenLimited: limited,
      searchBounded: mine.length > 0 && mine.every((r) => r.search.stoppedBy !== 'failed'),
      p99At100k: med(mine.map((r) => r.fixed?.latency.p99)),
      lostAt100k: med(mine.map((r) => r.fixed?.lost)),
      at100k: {
        p50: med(mine.map((r) => r.fixed?.latency.p50)),
        framesPerWrite: med(mine.map((r) => r.fixed?.serverFramesPerWrite)),
        flushMs: med(mine.map((r) => r.fixed?.serverFlushMs)),
        flushShare: med(mine.map((r) => r.fixed?.serverFlushShare)),
      },
      p99At: Object.fromEntries(
        [...new Set(mine.flatMap((r) => (r.fixedSteps ?? []).map((s) => s.attempted)))]
          .sort((a, b) => a - b)
          .map((rate) => [
            String(rate),
            med(mine.map((r) => r.fixedSteps?.find((s) => s.attempted === rate)?.latency.p99)),
          ]),
      ),
      searchMode: mine.some((r) => r.search.mode === 'lookahead') ? 'lookahead' : 'strict',
      strictSaturation: med(mine.map((r) => (r.search.strictBest ?? r.search.best)?.achieved)),
      strictUsPerDelivery: med(mine.map((r) => (r.search.strictBest ?? r.search.best)?.serverUsPerDelivery)),
      serverFramesPerWrite: med(best.map((b) => b?.serverFramesPerWrite)),
      mismatches: mine.reduce(
        (n, r) => n + [...r.search.steps, ...(r.fixedSteps ?? [])].filter((s) => s.mismatch === true).length,
        0,
      ),
      memory: mem,
    };
  });
}

/** The round whose saturation is the median one (for the charts). */
export function medianRound(runs: FanoutRun[], system: SystemName): FanoutRun | undefined {
  const mine = runs.filter((r) => r.system === system);
  const target = med(mine.map((r) => r.search.best?.achieved));
  return mine.find((r) => (r.search.best?.achieved ?? null) === target) ?? mine[0];
}

export interface Target {
  target: string;
  goal: string;
  measured: string;
  ratio: number | null;
  met: boolean | null;
  note: string;
}

export function evaluateTargets(results: Results): Target[] {
  const sums = summarizeRuns(results.fanout, results.memory);
  const by = (n: SystemName): SystemSummary | undefined => sums.find((s) => s.system === n);
  const alb = by('albatross');
  const sio = by('socketio');
  const ws = by('ws-floor');
  const targets: Target[] = [];
  const lgNote = (s: SystemSummary | undefined): string =>
    s?.loadGenLimited ? 'load generator was >= 90% busy at the saturation point' : '';

  const strictSat = ratio(alb?.strictSaturation, sio?.strictSaturation);
  targets.push({
    target: 'No valley: strict saturation vs Socket.IO (it and every lower step pass; issue 14 #1)',
    goal: '>= 5x',
    measured: `${alb?.strictSaturation ?? '-'} vs ${sio?.strictSaturation ?? '-'} deliveries/s`,
    ratio: strictSat,
    met: strictSat === null ? null : strictSat >= 5,
    note: lgNote(alb),
  });
  const strictCpu = ratio(alb?.strictUsPerDelivery, sio?.strictUsPerDelivery);
  targets.push({
    target: 'No valley: server CPU per delivery at the strict point vs Socket.IO (issue 14 #1)',
    goal: '<= 1/5 (ratio <= 0.2)',
    measured: `${alb?.strictUsPerDelivery ?? '-'} vs ${sio?.strictUsPerDelivery ?? '-'} µs`,
    ratio: strictCpu,
    met: strictCpu === null ? null : strictCpu <= 0.2,
    note: '',
  });
  const hold = by('albatross-hold');
  if (hold) {
    const ms = results.meta.holdVariantMs ?? '?';
    const r = ratio(hold.strictSaturation, sio?.strictSaturation);
    targets.push({
      target: `No valley with --coalesce-max-delay-ms ${ms}: strict saturation vs Socket.IO`,
      goal: '>= 5x',
      measured: `${hold.strictSaturation ?? '-'} vs ${sio?.strictSaturation ?? '-'} deliveries/s`,
      ratio: r,
      met: r === null ? null : r >= 5,
      note: lgNote(hold),
    });
    const c = ratio(hold.strictUsPerDelivery, sio?.strictUsPerDelivery);
    targets.push({
      target: `No valley with --coalesce-max-delay-ms ${ms}: server CPU per delivery at the strict point vs Socket.IO`,
      goal: '<= 1/5 (ratio <= 0.2)',
      measured: `${hold.strictUsPerDelivery ?? '-'} vs ${sio?.strictUsPerDelivery ?? '-'} µs`,
      ratio: c,
      met: c === null ? null : c <= 0.2,
      note: '',
    });
    const p99s = Object.entries(hold.p99At)
      .map(([rate, p99]) => `${Number(rate) / 1000}k: ${p99 ?? '-'} ms`)
      .join(', ');
    targets.push({
      target: `p99 at 100k deliveries/s attempted with --coalesce-max-delay-ms ${ms}`,
      goal: '<= 50 ms',
      measured: `${hold.p99At100k ?? '-'} ms (lost ${hold.lostAt100k ?? '-'})${p99s ? `; ${p99s}` : ''}`,
      ratio: null,
      met: hold.p99At100k == null ? null : hold.p99At100k <= 50 && (hold.lostAt100k ?? 1) === 0,
      note: '',
    });
  }
  const cpuSio = ratio(alb?.usPerDelivery, sio?.usPerDelivery);
  targets.push({
    target: 'CPU per delivery vs Socket.IO',
    goal: '<= 1/5 (ratio <= 0.2)',
    measured: `${alb?.usPerDelivery ?? '-'} vs ${sio?.usPerDelivery ?? '-'} µs`,
    ratio: cpuSio,
    met: cpuSio === null ? null : cpuSio <= 0.2,
    note: '',
  });
  const cpuWs = ratio(alb?.usPerDelivery, ws?.usPerDelivery);
  targets.push({
    target: 'CPU per delivery vs plain ws',
    goal: '<= 1/3 (ratio <= 0.33)',
    measured: `${alb?.usPerDelivery ?? '-'} vs ${ws?.usPerDelivery ?? '-'} µs`,
    ratio: cpuWs,
    met: cpuWs === null ? null : cpuWs <= 1 / 3,
    note: '',
  });
  const sat = ratio(alb?.saturation, sio?.saturation);
  targets.push({
    target: `Fan-out saturation vs Socket.IO (2,000 subs, 1 node; ${alb?.searchMode ?? 'strict'} search)`,
    goal: '>= 5x',
    measured: `${alb?.saturation ?? '-'} vs ${sio?.saturation ?? '-'} deliveries/s`,
    ratio: sat,
    met: sat === null ? null : sat >= 5,
    note: [lgNote(alb), alb?.searchBounded ? 'search hit its bound before Albatross failed' : '']
      .filter(Boolean)
      .join('; '),
  });
  if (!isSkipped(results.cross)) {
    const cs = summarizeRuns(results.cross);
    const a3 = cs.find((s) => s.system === 'albatross-redis-3');
    const s3 = cs.find((s) => s.system === 'socketio-redis-3');
    const r = ratio(a3?.saturation, s3?.saturation);
    targets.push({
      target: 'Cross-node saturation vs Socket.IO + redis adapter (3 nodes)',
      goal: '>= 3x',
      measured: `${a3?.saturation ?? '-'} vs ${s3?.saturation ?? '-'} deliveries/s`,
      ratio: r,
      met: r === null ? null : r >= 3,
      note: lgNote(a3),
    });
  } else {
    targets.push({
      target: 'Cross-node saturation vs Socket.IO + redis adapter (3 nodes)',
      goal: '>= 3x',
      measured: results.cross.skipped,
      ratio: null,
      met: null,
      note: '',
    });
  }
  const p99s = Object.entries(alb?.p99At ?? {})
    .map(([rate, p99]) => `${Number(rate) / 1000}k: ${p99 ?? '-'} ms`)
    .join(', ');
  targets.push({
    target: 'p99 at 100k deliveries/s attempted (issue 14 #2)',
    goal: '<= 50 ms',
    measured: `${alb?.p99At100k ?? '-'} ms (lost ${alb?.lostAt100k ?? '-'})${p99s ? `; ${p99s}` : ''}`,
    ratio: null,
    met: alb?.p99At100k == null ? null : alb.p99At100k <= 50 && (alb.lostAt100k ?? 1) === 0,
    note: '',
  });
  const mismatches = [...sums, ...(isSkipped(results.cross) ? [] : summarizeRuns(results.cross))].reduce(
    (n, s) => n + s.mismatches,
    0,
  );
  targets.push({
    target: "Load generator's counts match the gateway's /metrics after each step (issue 14 #8)",
    goal: '0 mismatches (a mismatch fails its step)',
    measured: `${mismatches} mismatching step(s)`,
    ratio: null,
    met: alb ? mismatches === 0 : null,
    note: '',
  });
  for (const count of ['2000', '10000']) {
    const a = alb?.memory[count];
    const w = ws?.memory[count];
    targets.push({
      target: `Memory per idle connection at ${Number(count).toLocaleString('en')} (3 subscriptions)`,
      goal: '<= plain ws + 2 KiB',
      measured: a == null || w == null ? 'not measured' : `${round(a / 1024, 1)} vs ${round(w / 1024, 1)} KiB`,
      ratio: ratio(a, w),
      met: a == null || w == null ? null : a <= w + 2048,
      note: '',
    });
  }
  if (isSkipped(results.memoryMax)) {
    targets.push({
      target: '50,000 idle connections on one node',
      goal: 'held',
      measured: results.memoryMax.skipped,
      ratio: null,
      met: null,
      note: '',
    });
  } else {
    const m = results.memoryMax;
    const p = m.points[m.points.length - 1];
    targets.push({
      target: '50,000 idle connections on one node',
      goal: 'held',
      measured: `${p?.connections ?? 0} held (${m.failed} failed), ${round((p?.bytesPerConnection ?? 0) / 1024, 1)} KiB each`,
      ratio: null,
      met: (p?.connections ?? 0) >= 50_000 && m.failed === 0,
      note: (p?.connections ?? 0) < 50_000 ? 'count limited by the open-files limit of this machine' : '',
    });
  }
  const storm = results.connectStorm.find((s) => s.system === 'albatross');
  targets.push({
    target: 'Connect storm (JWT verified)',
    goal: '>= 5,000 connects/s',
    measured: storm ? `${storm.connectsPerSecond}/s (${storm.connected} of ${storm.clients})` : 'not measured',
    ratio: storm ? ratio(storm.connectsPerSecond, 5000) : null,
    met: storm ? storm.connectsPerSecond >= 5000 : null,
    note: storm && storm.loadGenCpuShare >= 0.9 ? `load generator ${storm.loadGenCpuShare} of a core` : '',
  });
  const re = results.reconnectStorm;
  targets.push({
    target: 'Reconnect storm with recovery',
    goal: 'all recovered, zero loss',
    measured: isSkipped(re)
      ? re.skipped
      : `${re.recovered}/${re.clients} recovered in ${re.seconds} s, gaps ${re.gaps}, dups ${re.dups}, incomplete ${re.incomplete}`,
    ratio: null,
    met: isSkipped(re)
      ? null
      : re.recovered === re.clients && re.gaps === 0 && re.dups === 0 && re.incomplete === 0 && re.liveAfter,
    note: '',
  });
  if (!isSkipped(results.channels)) {
    const ms = summarizeRuns(results.channels);
    const many = ms.find((s) => s.system === 'albatross');
    const manySio = ms.find((s) => s.system === 'socketio');
    const manyWs = ms.find((s) => s.system === 'ws-floor');
    const r = ratio(many?.saturation, manySio?.saturation);
    targets.push({
      target: 'Many channels (1,000 tenants x 10) vs Socket.IO, one room per tenant (issue 14 #7)',
      goal: '>= 2x',
      measured: `${many?.saturation ?? '-'} vs ${manySio?.saturation ?? '-'} deliveries/s`,
      ratio: r,
      met: r === null ? null : r >= 2,
      note: lgNote(many),
    });
    const c = ratio(many?.usPerDelivery, manyWs?.usPerDelivery);
    targets.push({
      target: 'Many channels: server CPU per delivery vs the ws floor, same layout (issue 14 #7)',
      goal: '<= 1x',
      measured: `${many?.usPerDelivery ?? '-'} vs ${manyWs?.usPerDelivery ?? '-'} µs`,
      ratio: c,
      met: c === null ? null : c <= 1,
      note: '',
    });
  }
  return targets;
}
