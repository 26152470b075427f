import { get } from 'node:http';
import type { Fleet } from './load/fleet.js';
import type { Endpoint } from './load/messages.js';
import { cpuTimes, totalCpuSeconds } from './proc.js';
import type { Publisher } from './publisher.js';
import type { StepOutcome } from './saturation.js';
import { type LatencySummary, round, sampleInterval, summarize } from './stats.js';
import type { Running } from './systems.js';

/** One fixed-rate measurement: what was attempted, delivered, how late, and what it cost each side. */
export interface StepRecord extends StepOutcome {
  expected: number;
  deliveries: number;
  gaps: number;
  dups: number;
  /** Subscribers closed during the step, by close code. */
  closes: Record<string, number>;
  latency: LatencySummary;
  /** Server processes (nodes + Redis): CPU seconds and microseconds per delivery. */
  serverCpuS: number;
  serverUsPerDelivery: number;
  /** Share of one core used by the server processes and by the load generator (workers + coordinator). */
  serverCpuShare: number;
  loadGenCpuShare: number;
  /** Load-generator CPU per delivery (µs): must stay below the server's for the numbers to mean anything. */
  loadGenUsPerDelivery: number;
  wireBytesPerDelivery: number;
  /** Frames per socket read on the load-generator side: about the frames one server write carried. */
  framesPerRead: number;
  /**
   * CPU used on the machine by processes other than this bench (other people's
   * tests, the hypervisor's steal), in cores: noise that the shared machine adds.
   */
  foreignCpuShare: number;
  stealShare: number;
  publishFailed: number;
  publishError?: string;
  /** How long the step waited for the machine to be quiet before it started. */
  quietWaitMs: number;
  publisherMaxLagMs: number;
  seconds: number;
  /**
   * Deliveries the server's own counters (`albatross_deliveries_total` summed
   * over its nodes' /metrics) say it made during the step; null for peers
   * without such a counter. A difference from `deliveries` sets `mismatch`.
   */
  serverDeliveries: number | null;
  /** Frames per socket write by the server's own count (`albatross_coalesced_*`), when it has one. */
  serverFramesPerWrite: number | null;
  /** Mean duration of the gateway's coalesced flushes during the step, ms (its own counters). */
  serverFlushMs: number | null;
  /** Share of the step the gateway spent in those flushes (the socket writes' duty cycle). */
  serverFlushShare: number | null;
}

export interface StepContext {
  fleet: Fleet;
  system: Running;
  publisher: Publisher;
}

export interface StepPlan {
  /** Deliveries per second to attempt. */
  rate: number;
  /** Deliveries per publish call (subscribers reached by one call). */
  fanout: number;
  channelsOf(k: number): readonly string[];
  durationMs: number;
  drainMs: number;
  /** Wait first (at most `maxMs`) until processes outside the bench use fewer than `limit` cores. */
  quiet?: { limit: number; maxMs: number };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes at `plan.rate` deliveries/s for `durationMs`, waits up to
 * `drainMs` for everything to arrive, and reads both sides' CPU from /proc.
 * A step that lost frames then waits (bounded) until the server is quiet, so
 * its backlog does not leak into the next step.
 */
export async function measureStep(ctx: StepContext, plan: StepPlan): Promise<StepRecord> {
  const callsPerSecond = plan.rate / plan.fanout;
  const calls = Math.max(1, Math.round((callsPerSecond * plan.durationMs) / 1000));
  const expected = calls * plan.fanout;
  const lgPids = [...ctx.fleet.pids, process.pid];
  const quietWaitMs = plan.quiet ? await waitForQuiet([...ctx.system.pids, ...lgPids], plan.quiet) : 0;
  await ctx.fleet.reset(sampleInterval(expected));
  const counted = ctx.system.name.startsWith('albatross');
  const metrics0 = counted ? await serverCounters(ctx.system.nodes) : null;
  const server0 = totalCpuSeconds(ctx.system.pids);
  const lg0 = totalCpuSeconds(lgPids);
  const machine0 = cpuTimes();
  const t0 = performance.now();
  const published = await ctx.publisher.run({ callsPerSecond, calls, channelsOf: plan.channelsOf });
  const expectedNow = (calls - published.failed) * plan.fanout;
  let frames = 0;
  const drainUntil = performance.now() + plan.drainMs;
  for (;;) {
    frames = (await ctx.fleet.counts()).frames;
    if (frames >= expectedNow || performance.now() > drainUntil) break;
    await sleep(20);
  }
  const t1 = performance.now();
  const server1 = totalCpuSeconds(ctx.system.pids);
  const lg1 = totalCpuSeconds(lgPids);
  const machine1 = cpuTimes();
  const taken = await ctx.fleet.take();
  const seconds = (t1 - t0) / 1000;
  const lost = Math.max(0, expected - taken.frames);
  if (lost > 0) await quiesce(ctx.fleet);
  // Read after the drain (and after the quiesce of a lossy step): the server
  // counts a delivery when it queues the frame, so by now every counted one
  // has reached the load generator unless it was really lost.
  const metrics1 = counted ? await serverCounters(ctx.system.nodes) : null;
  const serverDeliveries = metrics0 && metrics1 ? metrics1.deliveries - metrics0.deliveries : null;
  const serverWrites = metrics0 && metrics1 ? metrics1.writes - metrics0.writes : 0;
  const serverFrames = metrics0 && metrics1 ? metrics1.frames - metrics0.frames : 0;
  const serverFlushes = metrics0 && metrics1 ? metrics1.flushes - metrics0.flushes : 0;
  const serverFlushS = metrics0 && metrics1 ? metrics1.flushSeconds - metrics0.flushSeconds : 0;
  const serverCpuS = server1 - server0;
  const machineBusy = delta(machine0.busy, machine1.busy);
  const foreign = Math.max(0, machineBusy - serverCpuS - (lg1 - lg0));
  return {
    attempted: Math.round(plan.rate),
    achieved: Math.round(Math.min(taken.frames, expected) / seconds),
    p99Ms: summarize(taken.samples).p99,
    lost,
    expected,
    deliveries: taken.frames,
    gaps: taken.gaps,
    dups: taken.dups,
    closes: taken.closes,
    latency: summarize(taken.samples),
    serverCpuS: round(serverCpuS, 3),
    serverUsPerDelivery: taken.frames > 0 ? round((serverCpuS * 1e6) / taken.frames, 3) : Number.NaN,
    serverCpuShare: round(serverCpuS / seconds),
    loadGenCpuShare: round((lg1 - lg0) / seconds),
    loadGenUsPerDelivery: taken.frames > 0 ? round(((lg1 - lg0) * 1e6) / taken.frames, 3) : Number.NaN,
    wireBytesPerDelivery: taken.frames > 0 ? round(taken.wireBytes / taken.frames, 1) : 0,
    framesPerRead: taken.reads > 0 ? round(taken.frames / taken.reads, 2) : 0,
    foreignCpuShare: round(foreign / seconds),
    stealShare: round(delta(machine0.steal, machine1.steal) / seconds),
    publishFailed: published.failed,
    quietWaitMs: Math.round(quietWaitMs),
    ...(published.firstError ? { publishError: published.firstError } : {}),
    publisherMaxLagMs: round(published.maxLagMs, 1),
    seconds: round(seconds, 2),
    serverDeliveries,
    serverFramesPerWrite: serverWrites > 0 ? round(serverFrames / serverWrites, 2) : null,
    serverFlushMs: serverFlushes > 0 ? round((serverFlushS * 1000) / serverFlushes, 2) : null,
    serverFlushShare: serverFlushes > 0 ? round(serverFlushS / seconds) : null,
    ...(serverDeliveries !== null && serverDeliveries !== taken.frames ? { mismatch: true } : {}),
  };
}

interface ServerCounters {
  deliveries: number;
  writes: number;
  frames: number;
  flushes: number;
  flushSeconds: number;
}

/** Sums the gateway's delivery and write counters over its nodes' /metrics (one GET each, 5 s at most). */
export async function serverCounters(nodes: readonly Endpoint[]): Promise<ServerCounters> {
  const total: ServerCounters = { deliveries: 0, writes: 0, frames: 0, flushes: 0, flushSeconds: 0 };
  for (const node of nodes) {
    const text = await fetchText(node, '/metrics');
    total.deliveries += counterValue(text, 'albatross_deliveries_total');
    total.writes += counterValue(text, 'albatross_coalesced_writes_total');
    total.frames += counterValue(text, 'albatross_coalesced_frames_total');
    total.flushes += counterValue(text, 'albatross_coalesce_flushes_total');
    total.flushSeconds += counterValue(text, 'albatross_coalesce_flush_seconds_total');
  }
  return total;
}

/** The value of an unlabelled counter in Prometheus text (0 when absent). */
export function counterValue(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

function fetchText(node: Endpoint, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: node.host, port: node.port, path, timeout: 5000, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${path} on port ${node.port}: HTTP ${res.statusCode}`));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on port ${node.port}: timed out`)));
    req.on('error', reject);
  });
}

const delta = (a: number[], b: number[]): number => b.reduce((s, v, i) => s + v - (a[i] ?? 0), 0);

/**
 * Waits until processes other than `ours` use fewer than `limit` cores
 * (measured over 300 ms windows), at most `maxMs`; answers the time waited.
 */
export async function waitForQuiet(ours: number[], quiet: { limit: number; maxMs: number }): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < quiet.maxMs) {
    const m0 = cpuTimes();
    const o0 = totalCpuSeconds(ours);
    const t0 = performance.now();
    await sleep(300);
    const foreign = delta(m0.busy, cpuTimes().busy) - (totalCpuSeconds(ours) - o0);
    if (foreign / ((performance.now() - t0) / 1000) < quiet.limit) break;
  }
  return performance.now() - start;
}

/** Waits until the subscribers' frame count stops moving for 500 ms (at most 15 s). */
async function quiesce(fleet: Fleet): Promise<void> {
  const until = performance.now() + 15_000;
  let last = -1;
  let stableSince = performance.now();
  while (performance.now() < until) {
    const frames = (await fleet.counts()).frames;
    if (frames !== last) {
      last = frames;
      stableSince = performance.now();
    } else if (performance.now() - stableSince > 500) return;
    await sleep(50);
  }
}
