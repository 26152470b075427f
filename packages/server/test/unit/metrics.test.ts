import { CloseCode } from '@albatross/protocol';
import { describe, expect, it } from 'vitest';
import { closeCodeLabel, GatewayMetrics } from '../../src/metrics/metrics.js';

function metrics(): GatewayMetrics {
  return new GatewayMetrics({ connectionStates: () => ({}), subscriptions: () => 0 });
}

/** Blocks the event loop for `ms`, then lets the delay monitors record it. */
async function stall(ms: number): Promise<void> {
  // The monitors record from their second tick on.
  await new Promise((resolve) => setTimeout(resolve, 60));
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the event loop cannot turn
  }
  await new Promise((resolve) => setTimeout(resolve, 60));
}

describe('albatross_disconnects_total{code}', () => {
  it('keeps RFC 6455 and protocol close codes, buckets every other code into one label', () => {
    for (const code of Object.values(CloseCode)) expect(closeCodeLabel(code)).toBe(String(code));
    for (const code of [1000, 1005, 1006]) expect(closeCodeLabel(code)).toBe(String(code));
    for (const code of [3000, 3999, 4000, 4002, 4999]) expect(closeCodeLabel(code)).toBe('other');
  });

  it('a client choosing its close codes cannot mint label values', async () => {
    const m = metrics();
    try {
      // Every client-chosen code but the protocol's own, once each.
      const chosen = Array.from({ length: 2000 }, (_, i) => 3000 + i).filter(
        (code) => !(Object.values(CloseCode) as number[]).includes(code),
      );
      for (const code of chosen) m.disconnected(code);
      m.disconnected(CloseCode.SLOW_CONSUMER);
      m.disconnected(1006);
      const lines = (await m.registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('albatross_disconnects_total{'));
      expect(lines.sort()).toEqual([
        'albatross_disconnects_total{code="1006"} 1',
        'albatross_disconnects_total{code="4009"} 1',
        `albatross_disconnects_total{code="other"} ${chosen.length}`,
      ]);
    } finally {
      m.stop();
    }
  });
});

describe('event-loop lag: /metrics and /health', () => {
  it('a scrape does not reset what /health reads, and /health does not reset the scrape', async () => {
    const m = metrics();
    try {
      await stall(300);
      // /health first: it must leave the scrape's window alone…
      expect(m.eventLoopP99Ms()).toBeGreaterThanOrEqual(200);
      const scraped = await m.registry.metrics();
      const lag = Number(/^albatross_event_loop_lag_p99_seconds (\S+)$/m.exec(scraped)?.[1]);
      expect(lag).toBeGreaterThanOrEqual(0.2);
      // …and the scrape (which starts a new scrape window) must leave /health's alone.
      expect(m.eventLoopP99Ms()).toBeGreaterThanOrEqual(200);
    } finally {
      m.stop();
    }
  });
});

describe('write coalescing metrics', () => {
  it('exposes frames per write and the current hold from the coalescer, and nothing without one', async () => {
    const stats = { writes: 40, frames: 120, lastFramesPerWrite: 3, holdMs: 5, flushes: 8, flushMs: 36 };
    const m = new GatewayMetrics({ connectionStates: () => ({}), subscriptions: () => 0, coalescer: () => stats });
    const none = metrics();
    try {
      const text = await m.registry.metrics();
      expect(text).toContain('albatross_coalesced_writes_total 40');
      expect(text).toContain('albatross_coalesced_frames_total 120');
      expect(text).toContain('albatross_coalesce_frames_per_write 3');
      expect(text).toContain('albatross_coalesce_delay_seconds 0.005');
      expect(text).toContain('albatross_coalesce_flushes_total 8');
      expect(text).toContain('albatross_coalesce_flush_seconds_total 0.036');
      stats.holdMs = 0;
      expect(await m.registry.metrics()).toContain('albatross_coalesce_delay_seconds 0\n');
      expect(await none.registry.metrics()).not.toContain('albatross_coalesce');
    } finally {
      m.stop();
      none.stop();
    }
  });
});
