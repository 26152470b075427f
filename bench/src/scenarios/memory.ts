import type { SuiteConfig } from '../config.js';
import type { Fleet } from '../load/fleet.js';
import { rssBytes } from '../proc.js';
import { SECRET, type SystemName, startSystem } from '../systems.js';

export interface MemoryPoint {
  connections: number;
  /** RSS of the node processes after the connections minus before, per connection. */
  bytesPerConnection: number;
  rssMiB: number;
}

export interface MemoryRun {
  system: SystemName;
  round: number;
  subscriptionsPerConnection: number;
  points: MemoryPoint[];
  failed: number;
}

const ALBATROSS_BASELINE = 'user:{sub}:updates,user:{sub}:apikeys,tenant:{tenant_id}:updates';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Memory per idle authenticated connection: RSS of the server's node
 * processes after N idle connections minus the RSS before, divided by N, at
 * each of `counts` (grown on the same server). Albatross connections hold
 * three subscriptions (the default baseline: two user channels, one tenant
 * channel); the peers' hold one room.
 */
export async function runMemory(
  cfg: SuiteConfig,
  name: SystemName,
  round: number,
  counts: readonly number[],
  fleet: Fleet,
): Promise<MemoryRun> {
  const albatross = name.startsWith('albatross');
  const system = await startSystem(name, { cpu: cfg.serverCpu, baseline: ALBATROSS_BASELINE });
  const rss = (): number => system.nodePids.reduce((a, pid) => a + rssBytes(pid), 0);
  const spec = {
    proto: system.proto,
    nodes: system.nodes,
    sources: cfg.sources,
    tenants: 10,
    secret: SECRET,
    subscribe: false,
    concurrency: 200,
    timeoutMs: 120_000,
  };
  try {
    // Warm the connection path up, then let the server settle before the baseline reading.
    await fleet.connect(spec, 200, 1_000_000);
    await fleet.closeAll();
    await sleep(1500);
    const before = rss();
    const points: MemoryPoint[] = [];
    let open = 0;
    let failed = 0;
    for (const count of counts) {
      const result = await fleet.connect(spec, count - open, open);
      failed += result.failed;
      open = count;
      await sleep(1500);
      const after = rss();
      points.push({
        connections: count,
        bytesPerConnection: Math.round((after - before) / count),
        rssMiB: Math.round(after / 1048576),
      });
    }
    return { system: name, round, subscriptionsPerConnection: albatross ? 3 : 1, points, failed };
  } finally {
    try {
      await fleet.closeAll();
    } finally {
      await system.stop();
    }
  }
}
