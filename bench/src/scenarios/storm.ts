import type { SuiteConfig } from '../config.js';
import type { Fleet } from '../load/fleet.js';
import { waitForQuiet } from '../measure.js';
import { totalCpuSeconds } from '../proc.js';
import { Publisher } from '../publisher.js';
import { round } from '../stats.js';
import { ADMIN_KEY, SECRET, type SystemName, startSystem } from '../systems.js';

export interface ConnectStorm {
  system: SystemName;
  clients: number;
  connected: number;
  failures: Record<string, number>;
  seconds: number;
  connectsPerSecond: number;
  serverUsPerConnect: number;
  loadGenCpuShare: number;
}

export interface ReconnectStorm {
  clients: number;
  missed: number;
  recovered: number;
  notRecovered: number;
  incomplete: number;
  replayed: number;
  gaps: number;
  dups: number;
  seconds: number;
  liveAfter: boolean;
}

/**
 * Connect storm: `clients` connections opened as fast as the server takes
 * them (200 handshakes in flight per load-generator process). For Albatross
 * each one authenticates with a first-frame JWT (verified by the server) and
 * is counted when its `welcome` arrives; the ws floor has no auth at all.
 */
export async function runConnectStorm(
  cfg: SuiteConfig,
  name: SystemName,
  clients: number,
  fleet: Fleet,
): Promise<ConnectStorm> {
  const system = await startSystem(name, { cpu: cfg.serverCpu });
  try {
    const spec = {
      proto: system.proto,
      nodes: system.nodes,
      sources: cfg.sources,
      tenants: 100,
      secret: SECRET,
      subscribe: false,
      concurrency: 200,
      timeoutMs: 120_000,
    };
    // Warm the server's handshake and auth paths up (JIT), then measure a fresh storm.
    await fleet.connect(spec, 1000, 1_000_000);
    await fleet.closeAll();
    const lgPids = [...fleet.pids, process.pid];
    await waitForQuiet([...system.pids, ...lgPids], { limit: cfg.foreignLimit, maxMs: cfg.quietWaitMs });
    const s0 = totalCpuSeconds(system.pids);
    const l0 = totalCpuSeconds(lgPids);
    const t0 = performance.now();
    const result = await fleet.connect(spec, clients);
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = totalCpuSeconds(system.pids) - s0;
    return {
      system: name,
      clients,
      connected: result.connected,
      failures: result.failures,
      seconds: round(seconds, 2),
      connectsPerSecond: Math.round(result.connected / seconds),
      serverUsPerConnect: round((serverCpu * 1e6) / Math.max(1, result.connected), 1),
      loadGenCpuShare: round((totalCpuSeconds(lgPids) - l0) / seconds),
    };
  } finally {
    try {
      await fleet.closeAll();
    } finally {
      await system.stop();
    }
  }
}

/**
 * Reconnect storm with recovery: `clients` subscribers of one channel lose
 * their connections at once, `missed` publications happen meanwhile, and all
 * of them reconnect together and resubscribe with `since`. Done when every
 * one is `recovered:true` and has the latest offset; then a few live
 * publications check that nothing was lost or duplicated on the way.
 */
export async function runReconnectStorm(cfg: SuiteConfig, fleet: Fleet): Promise<ReconnectStorm> {
  const system = await startSystem('albatross', { cpu: cfg.serverCpu, baseline: '' });
  const publisher = new Publisher(system.nodes[0] ?? { host: '127.0.0.1', port: 0 }, ADMIN_KEY);
  const publish = async (calls: number): Promise<number> => {
    const out = await publisher.run({ callsPerSecond: 500, calls, channelsOf: () => ['tenant:bench:updates'] });
    const body = JSON.parse(out.lastBody) as { results: { offset: number }[] };
    return body.results[0]?.offset ?? 0;
  };
  try {
    await fleet.reset(16);
    const clients = cfg.reconnectClients;
    const connect = await fleet.connect(
      {
        proto: 'albatross',
        nodes: system.nodes,
        sources: cfg.sources,
        tenants: 0,
        secret: SECRET,
        subscribe: true,
        concurrency: 200,
        timeoutMs: 120_000,
      },
      clients,
    );
    if (connect.failed > 0) throw new Error(`reconnect storm: ${connect.failed} clients failed to connect`);
    const first = await publish(10);
    await fleet.waitOffset(first, 20_000);
    await fleet.drop();
    const latest = await publish(cfg.reconnectMissed);
    const result = await fleet.reconnect({ concurrency: 200, timeoutMs: 120_000, targetOffset: latest });
    const live = await publish(5);
    const liveAfter = await fleet.waitOffset(live, 20_000);
    const counts = await fleet.counts();
    return {
      clients: result.clients,
      missed: latest - first,
      recovered: result.recovered,
      notRecovered: result.notRecovered,
      incomplete: result.incomplete,
      replayed: result.replayed,
      gaps: counts.gaps,
      dups: counts.dups,
      seconds: round(result.ms / 1000, 2),
      liveAfter,
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
