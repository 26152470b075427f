import type { SuiteConfig } from '../config.js';
import type { Fleet } from '../load/fleet.js';
import { measureStep, type StepContext, type StepPlan, type StepRecord } from '../measure.js';
import { Publisher } from '../publisher.js';
import { type SearchResult, searchSaturation } from '../saturation.js';
import { ADMIN_KEY, SECRET, type SystemName, startSystem } from '../systems.js';

export interface FanoutRun {
  system: SystemName;
  round: number;
  subscribers: number;
  channels: number;
  connectMs: number;
  /** The fixed-rate step (100k deliveries/s attempted), when asked for. */
  fixed: StepRecord | null;
  /** Every fixed-rate step (20k, 50k, 100k deliveries/s attempted), when asked for. */
  fixedSteps?: StepRecord[];
  search: SearchResult<StepRecord>;
}

export interface FanoutShape {
  /** Subscribers per tenant channel and tenants (0 tenants: all on `tenant:bench:updates`). */
  subscribers: number;
  tenants: number;
  channelsPerCall: number;
  fixedStep: boolean;
  searchStart: number;
}

/**
 * One system, one round: start it, connect the subscribers (spread over its
 * nodes), warm up, optionally run the fixed-rate step, then search for the
 * saturation point. Publications enter through the first node.
 */
export async function runFanout(
  cfg: SuiteConfig,
  name: SystemName,
  round: number,
  shape: FanoutShape,
  fleet: Fleet,
  log: (line: string) => void,
): Promise<FanoutRun> {
  const system = await startSystem(name, { cpu: cfg.serverCpu });
  const publisher = new Publisher(system.nodes[0] ?? { host: '127.0.0.1', port: 0 }, ADMIN_KEY);
  try {
    const connect = await fleet.connect(
      {
        proto: system.proto,
        nodes: system.nodes,
        sources: cfg.sources,
        tenants: shape.tenants,
        secret: SECRET,
        subscribe: false,
        concurrency: 200,
        timeoutMs: 60_000,
      },
      shape.subscribers,
    );
    if (connect.failed > 0)
      throw new Error(`${name}: ${connect.failed} subscribers failed ${JSON.stringify(connect.failures)}`);
    const ctx: StepContext = { fleet, system, publisher };
    const plan = planFor(cfg, shape);
    await measureStep(ctx, plan(cfg.search.start / 2, cfg.warmupMs));
    let fixed: StepRecord | null = null;
    const disturbed = (s: StepRecord): boolean => s.foreignCpuShare > cfg.foreignLimit;
    const fixedSteps: StepRecord[] = [];
    if (shape.fixedStep) {
      for (const rate of cfg.fixedRates) {
        let step = await measureStep(ctx, plan(rate, cfg.fixedMs));
        for (let again = 0; again < 2 && disturbed(step); again++)
          step = await measureStep(ctx, plan(rate, cfg.fixedMs));
        fixedSteps.push(step);
        if (rate === cfg.fixedRate) fixed = step;
        log(
          `  ${name} at ${rate}/s: p99 ${step.latency.p99} ms, lost ${step.lost}, srv ${step.serverUsPerDelivery} us/d${step.serverFramesPerWrite === null ? '' : `, ${step.serverFramesPerWrite} frames/write`}${step.serverFlushMs === null ? '' : `, flush ${step.serverFlushMs} ms (busy ${step.serverFlushShare})`}${step.mismatch ? `, MISMATCH: server counted ${step.serverDeliveries}, load generator ${step.deliveries}` : ''}`,
        );
      }
    }
    const search = await searchSaturation(
      async (rate) => {
        const step = await measureStep(ctx, plan(rate, cfg.stepMs));
        log(
          `  ${name} r${round} ${Math.round(rate)}/s -> ${step.achieved}/s p99 ${step.latency.p99} ms lost ${step.lost} srv ${step.serverUsPerDelivery} us/d lg ${step.loadGenCpuShare} other ${step.foreignCpuShare}${step.serverFramesPerWrite === null ? '' : ` fpw ${step.serverFramesPerWrite} flush ${step.serverFlushMs} ms`}${step.mismatch ? ` MISMATCH (server ${step.serverDeliveries}, load generator ${step.deliveries})` : ''}${step.quietWaitMs > 500 ? ` (waited ${step.quietWaitMs} ms for quiet)` : ''}`,
        );
        return step;
      },
      { ...cfg.search, start: shape.searchStart, disturbed },
    );
    return {
      system: name,
      round,
      subscribers: shape.subscribers,
      channels: shape.tenants || 1,
      connectMs: Math.round(connect.ms),
      fixed,
      fixedSteps,
      search,
    };
  } finally {
    publisher.close();
    try {
      await fleet.closeAll();
    } finally {
      await system.stop();
    }
  }
}

/** Publish plans: one channel, or `channelsPerCall` tenant channels per call walking over all tenants. */
function planFor(cfg: SuiteConfig, shape: FanoutShape): (rate: number, durationMs: number) => StepPlan {
  const quiet = { limit: cfg.foreignLimit, maxMs: cfg.quietWaitMs };
  if (shape.tenants === 0) {
    const one = ['tenant:bench:updates'];
    return (rate, durationMs) => ({
      rate,
      fanout: shape.subscribers,
      channelsOf: () => one,
      durationMs,
      drainMs: cfg.drainMs,
      quiet,
    });
  }
  const perTenant = shape.subscribers / shape.tenants;
  const groups: string[][] = [];
  for (let g = 0; g * shape.channelsPerCall < shape.tenants; g++) {
    const names: string[] = [];
    for (let k = 0; k < shape.channelsPerCall; k++)
      names.push(`tenant:t${(g * shape.channelsPerCall + k) % shape.tenants}:updates`);
    groups.push(names);
  }
  return (rate, durationMs) => ({
    rate,
    fanout: perTenant * shape.channelsPerCall,
    channelsOf: (k) => groups[k % groups.length] ?? [],
    durationMs,
    drainMs: cfg.drainMs,
    quiet,
  });
}
