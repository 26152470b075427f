import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { SuiteConfig } from '../config.js';
import type { Fleet } from '../load/fleet.js';
import { signToken } from '../load/token.js';
import { measureStep, type StepContext, type StepPlan, type StepRecord } from '../measure.js';
import { Publisher } from '../publisher.js';
import { ADMIN_KEY, SECRET, startSystem } from '../systems.js';

/** Healthy subscribers' latency with and without a flooding client beside them (issue 3). */
export interface FloodRun {
  subscribers: number;
  rate: number;
  /** Median p99 of the two steps without the flooder (before and after). */
  baselineP99: number;
  floodedP99: number;
  /** floodedP99 / baselineP99: the issue asks for <= 2. */
  ratio: number;
  lost: number;
  floodFramesSent: number;
  /** Times the gateway closed the flooder (4008 after 2 x burst refused frames), and it came back. */
  floodReconnects: number;
  steps: StepRecord[];
}

/**
 * The gateway with its production rate limit (10/10s); subscribers that
 * only read; one client that sends pings as fast as its socket takes them and
 * reconnects whenever it is closed. Same fixed-rate step before, during and
 * after the flood.
 */
export async function runFlood(cfg: SuiteConfig, fleet: Fleet, log: (line: string) => void): Promise<FloodRun> {
  const system = await startSystem('albatross', { cpu: cfg.serverCpu, extraArgs: ['--rate-limit', '10/10s'] });
  const node = system.nodes[0] ?? { host: '127.0.0.1', port: 0 };
  const publisher = new Publisher(node, ADMIN_KEY);
  const subscribers = Math.min(cfg.subscribers, 1000);
  const rate = Math.round(cfg.fixedRate / 5);
  try {
    const connect = await fleet.connect(
      {
        proto: system.proto,
        nodes: system.nodes,
        sources: cfg.sources,
        tenants: 0,
        secret: SECRET,
        subscribe: false,
        concurrency: 200,
        timeoutMs: 60_000,
      },
      subscribers,
    );
    if (connect.failed > 0) throw new Error(`flood: ${connect.failed} subscribers failed`);
    const ctx: StepContext = { fleet, system, publisher };
    const one = ['tenant:bench:updates'];
    const plan = (durationMs: number): StepPlan => ({
      rate,
      fanout: subscribers,
      channelsOf: () => one,
      durationMs,
      drainMs: cfg.drainMs,
      quiet: { limit: cfg.foreignLimit, maxMs: cfg.quietWaitMs },
    });
    await measureStep(ctx, plan(cfg.warmupMs));
    const before = await measureStep(ctx, plan(cfg.fixedMs));
    const flooder = startFlooder(`ws://${node.host}:${node.port}/ws`, signToken(SECRET, 'flooder', 'bench'));
    const during = await measureStep(ctx, plan(cfg.fixedMs));
    const flood = await flooder.stop();
    const after = await measureStep(ctx, plan(cfg.fixedMs));
    const baselineP99 = (before.latency.p99 + after.latency.p99) / 2;
    const run: FloodRun = {
      subscribers,
      rate,
      baselineP99: Math.round(baselineP99 * 100) / 100,
      floodedP99: during.latency.p99,
      ratio: baselineP99 > 0 ? Math.round((during.latency.p99 / baselineP99) * 100) / 100 : Number.NaN,
      lost: before.lost + during.lost + after.lost,
      floodFramesSent: flood.sent,
      floodReconnects: flood.reconnects,
      steps: [before, during, after],
    };
    log(
      `  flood: p99 ${before.latency.p99} / ${during.latency.p99} (flooded) / ${after.latency.p99} ms, ratio ${run.ratio}, flooder sent ${flood.sent} frames over ${flood.reconnects} connections`,
    );
    return run;
  } finally {
    publisher.close();
    try {
      await fleet.closeAll();
    } finally {
      await system.stop();
    }
  }
}

/** Pings in bounded bursts per turn (a synchronous loop would never yield), reconnecting when closed. */
function startFlooder(url: string, token: string): { stop(): Promise<{ sent: number; reconnects: number }> } {
  let stopped = false;
  let sent = 0;
  let reconnects = 0;
  let current: WebSocket | null = null;
  const loop = (async () => {
    const until = performance.now() + 300_000;
    while (!stopped && performance.now() < until) {
      reconnects += 1;
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
        current = ws;
        ws.on('error', () => resolve());
        ws.on('close', () => resolve());
        ws.on('open', () => {
          const pump = (): void => {
            for (
              let i = 0;
              i < 200 && !stopped && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 65_536;
              i++
            ) {
              ws.send('{"type":"ping","id":1}');
              sent += 1;
            }
            if (!stopped && ws.readyState === WebSocket.OPEN) setImmediate(pump);
          };
          pump();
        });
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      (current as WebSocket | null)?.terminate();
      await loop;
      return { sent, reconnects };
    },
  };
}

/** The markdown lines of the flood scenario, appended to the results table. */
export function floodMarkdown(flood: FloodRun | { skipped: string } | undefined): string {
  if (flood === undefined) return '';
  if ('skipped' in flood) return `\n- Flooding client: ${flood.skipped}\n`;
  return (
    `\n- Flooding client (issue 3; gateway with its default rate limit 10/10s, ${flood.subscribers} subscribers, ` +
    `${flood.rate} deliveries/s): healthy subscribers' p99 ${flood.baselineP99} ms without, ${flood.floodedP99} ms with ` +
    `the flooder (ratio ${flood.ratio}, target <= 2), lost ${flood.lost}; the flooder sent ${flood.floodFramesSent} ` +
    `frames over ${flood.floodReconnects} connections (closed 4008 each time).\n`
  );
}
