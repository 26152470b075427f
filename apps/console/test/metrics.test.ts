import { describe, expect, it } from 'vitest';
import { parsePrometheus, pointsOf, sampleOf } from '../src/ops/metrics.js';

const TEXT = `# HELP albatross_connections Open connections
# TYPE albatross_connections gauge
albatross_connections 3
albatross_subscriptions 7
albatross_publications_total 100
albatross_deliveries_total 250
albatross_frames_in_total{type="auth"} 4
albatross_frames_in_total{type="subscribe"} 6
albatross_publish_to_send_seconds_bucket{le="+Inf"} 9
garbage line here
albatross_bad NaN
`;

describe('parsePrometheus', () => {
  it('reads samples, sums label sets, skips comments, garbage and NaN', () => {
    const values = parsePrometheus(TEXT);
    expect(values.get('albatross_connections')).toBe(3);
    expect(values.get('albatross_frames_in_total')).toBe(10);
    expect(values.has('albatross_bad')).toBe(false);
    expect(values.has('garbage')).toBe(false);
    expect(sampleOf(values, 5)).toEqual({
      t: 5,
      connections: 3,
      subscriptions: 7,
      publicationsTotal: 100,
      deliveriesTotal: 250,
    });
  });
});

describe('pointsOf', () => {
  it('turns counters into per-second rates and never reports a negative rate after a reset', () => {
    const s = (t: number, pub: number, del: number) => ({
      t,
      connections: 1,
      subscriptions: 2,
      publicationsTotal: pub,
      deliveriesTotal: del,
    });
    const points = pointsOf([s(0, 100, 200), s(2000, 110, 240), s(4000, 5, 10)]);
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ publicationsPerSecond: 5, deliveriesPerSecond: 20, connections: 1 });
    expect(points[1]).toMatchObject({ publicationsPerSecond: 0, deliveriesPerSecond: 0 });
    expect(pointsOf([s(0, 1, 1)])).toEqual([]);
  });
});
