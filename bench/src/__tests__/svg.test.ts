import { describe, expect, it } from 'vitest';
import { areaOf, shortLocation, summarizeProfile } from '../scenarios/profile.js';
import { formatTick, linearTicks, lineChart } from '../svg.js';

describe('svg charts', () => {
  it('makes round ticks and short labels', () => {
    expect(linearTicks(100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(formatTick(1_500_000)).toBe('1.5M');
    expect(formatTick(25_000)).toBe('25k');
  });
  it('draws one polyline per series, escaping names', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a<b',
          points: [
            [1, 2],
            [2, 4],
          ],
        },
        { name: 'c', points: [[1, Number.NaN]] },
      ],
      logY: true,
      refY: { value: 100, label: 'limit' },
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg).toContain('a&lt;b');
  });
});

describe('profile summary', () => {
  it('keeps no machine-specific directories in locations', () => {
    expect(shortLocation('file:///home/x/repo/node_modules/ws/lib/sender.js', 10)).toBe('ws/lib/sender.js:11');
    expect(shortLocation('file:///home/x/repo/packages/server/dist/fanout/hub.js', 0)).toBe(
      'packages/server/dist/fanout/hub.js:1',
    );
    expect(shortLocation('node:net', 4)).toBe('node:net:5');
    expect(areaOf('writev', '')).toContain('native');
  });
  it('adds self time per function from samples and time deltas', () => {
    const s = summarizeProfile({
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'send', url: 'file:///r/node_modules/ws/lib/sender.js', lineNumber: 1 } },
        { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [1000, 1000, 2000, 1000],
    });
    expect(s.totalMs).toBe(5);
    expect(s.top[0]).toMatchObject({ function: 'send', selfMs: 3, selfPercent: 100 });
    expect(s.byArea['ws library']).toBe(60);
  });
});
