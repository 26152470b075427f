/**
 * Reads the gateway's Prometheus text (`GET /metrics`) into the figures the
 * operations page charts. Only what the page needs: sample lines, summed over
 * labels; comments, histograms' buckets and malformed lines are ignored.
 */

/** One reading of the gateway's figures. */
export interface GatewaySample {
  /** ms since the Unix epoch, when the reading was taken. */
  t: number;
  connections: number;
  subscriptions: number;
  publicationsTotal: number;
  deliveriesTotal: number;
}

/** One point of the charts: gauges as read, counters as per-second rates since the previous sample. */
export interface GatewayPoint {
  t: number;
  connections: number;
  subscriptions: number;
  publicationsPerSecond: number;
  deliveriesPerSecond: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(-?[0-9.eE+-]+|NaN|[+-]Inf)(\s+\d+)?$/;

/** Every metric's value, summed over its label sets. */
export function parsePrometheus(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const name = match[1] ?? '';
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    values.set(name, (values.get(name) ?? 0) + value);
  }
  return values;
}

/** The page's sample out of the parsed metrics (missing metrics read as 0). */
export function sampleOf(values: Map<string, number>, t: number): GatewaySample {
  return {
    t,
    connections: values.get('albatross_connections') ?? 0,
    subscriptions: values.get('albatross_subscriptions') ?? 0,
    publicationsTotal: values.get('albatross_publications_total') ?? 0,
    deliveriesTotal: values.get('albatross_deliveries_total') ?? 0,
  };
}

/**
 * Chart points from consecutive samples. A counter that went down (the node
 * restarted, or the load balancer sent the poll to another node) gives no
 * rate for that step rather than a negative one.
 */
export function pointsOf(samples: readonly GatewaySample[]): GatewayPoint[] {
  const points: GatewayPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1];
    const cur = samples[i];
    if (!prev || !cur) continue;
    const seconds = (cur.t - prev.t) / 1000;
    if (seconds <= 0) continue;
    const rate = (a: number, b: number) => (b >= a ? (b - a) / seconds : 0);
    points.push({
      t: cur.t,
      connections: cur.connections,
      subscriptions: cur.subscriptions,
      publicationsPerSecond: rate(prev.publicationsTotal, cur.publicationsTotal),
      deliveriesPerSecond: rate(prev.deliveriesTotal, cur.deliveriesTotal),
    });
  }
  return points;
}
