import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';

// ws exports its frame parser at runtime but not in its typings.
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: {
    isServer: boolean;
  }) => {
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
    write(chunk: Buffer): void;
  };
};

import { Coalescer, type WritableSocket } from '../../src/outbound/coalescer.js';
import { textFrame } from '../../src/outbound/frame.js';

/** Parses frames with ws's own receiver, as a client would (server frames are unmasked). */
function decode(bytes: Buffer): string[] {
  const messages: string[] = [];
  const receiver = new Receiver({ isServer: false });
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString());
  });
  receiver.write(bytes);
  return messages;
}

describe('textFrame', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])(
    'frames a %i-byte payload that a WebSocket receiver reads back',
    (size) => {
      const text = 'é'.repeat(Math.floor(size / 2)) + 'a'.repeat(size % 2);
      const payload = Buffer.from(text);
      expect(payload.length).toBe(size);
      const frame = textFrame(payload);
      expect(frame[0]).toBe(0x81);
      expect(decode(frame)).toEqual([text]);
    },
  );
});

class FakeSocket implements WritableSocket {
  destroyed = false;
  writableLength = 0;
  corked = 0;
  writes: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    return true;
  }
  cork(): void {
    this.corked += 1;
  }
  uncork(): void {}
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('sends every frame queued in one turn in one write, in order', async () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    for (let i = 0; i < 100; i++) outbox.push(textFrame(Buffer.from(`{"n":${i}}`)));
    expect(socket.writes).toHaveLength(0);
    expect(outbox.bufferedAmount).toBeGreaterThan(0);
    await turn();
    expect(socket.writes).toHaveLength(1);
    expect(decode(Buffer.concat(socket.writes))).toEqual(Array.from({ length: 100 }, (_, i) => `{"n":${i}}`));
    expect(outbox.bufferedAmount).toBe(0);
  });

  it('writes large batches corked, without copying them together', async () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    const big = textFrame(Buffer.alloc(40_000, 'x'));
    outbox.push(big);
    outbox.push(big);
    await turn();
    expect(socket.corked).toBe(1);
    expect(socket.writes).toEqual([big, big]);
  });

  it('flush() writes at once (before a close frame) and writes nothing to a destroyed socket', async () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    outbox.push(textFrame(Buffer.from('a')));
    outbox.flush();
    expect(socket.writes).toHaveLength(1);
    socket.destroyed = true;
    outbox.push(textFrame(Buffer.from('b')));
    await turn();
    expect(socket.writes).toHaveLength(1);
  });

  it('backlogBound is the backlog read after the last flush: never below it while the socket drains', () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    expect(outbox.backlogBound).toBe(0);
    outbox.push(textFrame(Buffer.alloc(100, 'a')));
    socket.writableLength = 5_000; // the kernel did not take everything
    outbox.flush();
    expect(outbox.backlogBound).toBe(5_000);
    socket.writableLength = 1_200; // drained since: the bound stays an upper bound, the exact read follows
    expect(outbox.backlog).toBe(1_200);
    expect(outbox.backlogBound).toBe(5_000);
    outbox.push(textFrame(Buffer.alloc(100, 'b')));
    outbox.flush();
    expect(outbox.backlogBound).toBe(1_200);
  });

  it('honours a bounded delay', () => {
    // Fake timers: on a busy machine a real 20 ms timer can fire before the next turn.
    vi.useFakeTimers();
    try {
      const socket = new FakeSocket();
      const outbox = new Coalescer(20).outbox(socket);
      outbox.push(textFrame(Buffer.from('a')));
      vi.advanceTimersByTime(19);
      expect(socket.writes).toHaveLength(0);
      outbox.push(textFrame(Buffer.from('b')));
      vi.advanceTimersByTime(1);
      expect(socket.writes).toHaveLength(1);
      expect(decode(Buffer.concat(socket.writes))).toEqual(['a', 'b']);
    } finally {
      vi.useRealTimers();
    }
  });
});

/**
 * The coalescer's clock in these tests: fake time plus the CPU time the
 * sockets' writes "cost", so a flush of many sockets takes time as it does
 * on a real machine (fake timers alone would make every flush instantaneous).
 */
class VirtualClock {
  spent = 0;
  readonly now = (): number => Date.now() + this.spent;
}

/** A socket that records when (on the virtual clock) each write happened; each write costs `costMs`. */
class TimedSocket extends FakeSocket {
  readonly at: number[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly costMs: number,
  ) {
    super();
  }
  override write(chunk: Buffer): boolean {
    this.at.push(this.clock.now());
    this.clock.spent += this.costMs;
    return super.write(chunk);
  }
}

describe('Coalescer, load-adaptive hold', () => {
  const MAX = 4;
  // Fake timers drive every schedule (setImmediate, setTimeout) and the clock
  // the coalescer reads, so the assertions hold on any machine at any load.
  const adaptive = (clock: VirtualClock, maxDelayMs = MAX) => new Coalescer({ maxDelayMs, now: clock.now });

  /**
   * Publishes `count` numbered frames to every socket, one publication every
   * `everyMs`, each socket write costing `costMs` of the clock.
   */
  function publishRun(sockets: number, count: number, everyMs: number, maxDelayMs = MAX, costMs = 0.04) {
    const clock = new VirtualClock();
    const coalescer = adaptive(clock, maxDelayMs);
    const socks = Array.from({ length: sockets }, () => new TimedSocket(clock, costMs));
    const boxes = socks.map((s) => coalescer.outbox(s));
    const pushedAt: number[] = [];
    for (let n = 0; n < count; n++) {
      pushedAt.push(clock.now());
      const frame = textFrame(Buffer.from(`{"n":${n}}`));
      for (const box of boxes) box.push(frame);
      vi.advanceTimersByTime(everyMs);
    }
    vi.advanceTimersByTime(Math.max(maxDelayMs, MAX) * 10);
    return { coalescer, socks, pushedAt, flushMs: sockets * costMs };
  }

  /**
   * Every socket got 0..count-1 exactly once, in order, and no frame waited
   * longer than `holdMs` plus the time the flush took to reach its socket.
   */
  function expectComplete(socks: TimedSocket[], pushedAt: number[], holdMs: number, flushMs: number): void {
    for (const socket of socks) {
      const seen: number[] = [];
      socket.writes.forEach((bytes, i) => {
        for (const text of decode(bytes)) {
          const n = (JSON.parse(text) as { n: number }).n;
          seen.push(n);
          const waited = (socket.at[i] as number) - (pushedAt[n] as number);
          expect(waited).toBeGreaterThanOrEqual(0);
          expect(waited).toBeLessThanOrEqual(holdMs + flushMs + 1e-6);
        }
      });
      expect(seen).toEqual(pushedAt.map((_, n) => n));
    }
  }

  it('at light load writes at the end of the turn: no added delay, one frame per write', () => {
    vi.useFakeTimers();
    try {
      // 10 sockets per publication, one publication every 2 ms: below the busy threshold.
      const { coalescer, socks, pushedAt, flushMs } = publishRun(10, 20, 2);
      expectComplete(socks, pushedAt, 0, flushMs);
      for (const socket of socks) expect(socket.writes).toHaveLength(20);
      expect(coalescer.stats.holdMs).toBe(0);
      expect(coalescer.stats.frames / coalescer.stats.writes).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('at heavy load holds the next flush so that writes carry several frames, never past the bound', () => {
    vi.useFakeTimers();
    try {
      // 300 sockets per publication (busy, a flush costs 12 ms: half is over the 4 ms bound),
      // one publication every 1 ms for 40 ms.
      const { coalescer, socks, pushedAt, flushMs } = publishRun(300, 40, 1);
      expectComplete(socks, pushedAt, MAX, flushMs);
      for (const socket of socks) expect(socket.writes.length).toBeLessThan(20);
      expect(coalescer.stats.frames).toBe(300 * 40);
      expect(coalescer.stats.frames / coalescer.stats.writes).toBeGreaterThanOrEqual(3);
      expect(coalescer.stats.lastFramesPerWrite).toBeGreaterThan(1);
      expect(coalescer.stats.holdMs).toBe(MAX);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds for half as long as the busy flush took, not the whole bound', () => {
    vi.useFakeTimers();
    try {
      // A flush of 300 sockets costs 6 ms; the bound is far above it. One
      // publication every 1 ms: a flush after each would keep the writer busy
      // all the time, a 3 ms hold after each flush merges publications.
      const { coalescer, socks, pushedAt, flushMs } = publishRun(300, 30, 1, 50, 0.02);
      // Half the last flush's duration (6 ms for all 300 sockets), not the bound.
      expect(coalescer.stats.holdMs).toBeCloseTo(3, 6);
      // Writing time is counted per write: 0.02 ms each.
      expect(coalescer.stats.flushMs).toBeCloseTo(coalescer.stats.writes * 0.02, 2);
      expectComplete(socks, pushedAt, 3, flushMs);
      expect(coalescer.stats.frames).toBe(300 * 30);
      // Without the hold every write carries one frame; with it (the write
      // cost moves the coalescer's clock, not the fake timers, so fewer
      // publications fall into each hold than on a real machine) about 1.4.
      expect(coalescer.stats.frames / coalescer.stats.writes).toBeGreaterThan(1.3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('with the hold disabled (0) every publication is its own write even at heavy load', () => {
    vi.useFakeTimers();
    try {
      const { coalescer, socks, pushedAt, flushMs } = publishRun(300, 10, 1, 0);
      expectComplete(socks, pushedAt, 0, flushMs * 10);
      for (const socket of socks) expect(socket.writes).toHaveLength(10);
      expect(coalescer.stats.holdMs).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not delay a publication that comes long after a busy flush', () => {
    vi.useFakeTimers();
    // Runs the flush queued by setImmediate (no timeout is pending: the clock does not move).
    const settle = (): void => {
      vi.advanceTimersByTime(0);
    };
    try {
      const clock = new VirtualClock();
      const coalescer = adaptive(clock);
      // 300 sockets at 0.04 ms: the flush costs 12 ms, so the hold is the 4 ms bound.
      const socks = Array.from({ length: 300 }, () => new TimedSocket(clock, 0.04));
      const boxes = socks.map((s) => coalescer.outbox(s));
      // The first flush has no previous one to repeat: no hold yet.
      for (const box of boxes) box.push(textFrame(Buffer.from('0')));
      settle();
      expect(coalescer.stats.holdMs).toBe(0);
      vi.advanceTimersByTime(10);
      for (const box of boxes) box.push(textFrame(Buffer.from('a')));
      settle();
      expect(coalescer.stats.holdMs).toBe(MAX);
      const firstEnded = clock.now();
      vi.advanceTimersByTime(MAX + 1);
      const sentAt = clock.now();
      expect(sentAt - firstEnded).toBe(MAX + 1);
      for (const box of boxes) box.push(textFrame(Buffer.from('b')));
      settle();
      // The third flush started the moment 'b' was queued: its first write is at sentAt.
      expect(socks[0]?.at[2]).toBe(sentAt);
      for (const socket of socks) expect(socket.writes).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a lagging event loop turns the hold on for a few sockets too, and light load turns it off again', () => {
    vi.useFakeTimers();
    try {
      const clock = new VirtualClock();
      const coalescer = adaptive(clock);
      const socket = new TimedSocket(clock, 0);
      const box = coalescer.outbox(socket);
      box.push(textFrame(Buffer.from('0')));
      vi.advanceTimersByTime(0);
      expect(coalescer.stats.holdMs).toBe(0);
      box.push(textFrame(Buffer.from('a')));
      // The turn that queued the frame ran long: the flush starts 20 ms late.
      vi.setSystemTime(Date.now() + 20);
      vi.advanceTimersByTime(0);
      expect(socket.writes).toHaveLength(2);
      // The hold follows the lag (20 ms), capped by the bound.
      expect(coalescer.stats.holdMs).toBe(MAX);
      const pushed = clock.now();
      box.push(textFrame(Buffer.from('b')));
      vi.advanceTimersByTime(MAX - 1);
      expect(socket.writes).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(socket.at.slice(2)).toEqual([pushed + MAX]);
      // That flush was on time and wrote one socket: the next one is immediate again.
      expect(coalescer.stats.holdMs).toBe(0);
      box.push(textFrame(Buffer.from('c')));
      vi.advanceTimersByTime(0);
      expect(socket.writes).toHaveLength(4);
      expect(decode(Buffer.concat(socket.writes))).toEqual(['0', 'a', 'b', 'c']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not hold when every busy flush reaches other sockets (many quiet channels): nothing would merge', () => {
    vi.useFakeTimers();
    try {
      const clock = new VirtualClock();
      const coalescer = adaptive(clock, 50);
      // 10 groups of 300 sockets (busy flushes, 6 ms each); one publication per
      // group in turn, every 2 ms: a socket gets a frame every 20 ms.
      const groups = Array.from({ length: 10 }, () => Array.from({ length: 300 }, () => new TimedSocket(clock, 0.02)));
      const boxes = groups.map((g) => g.map((s) => coalescer.outbox(s)));
      const pushedAt: number[] = [];
      for (let n = 0; n < 30; n++) {
        pushedAt.push(clock.now());
        const frame = textFrame(Buffer.from(`{"n":${n}}`));
        for (const box of boxes[n % 10] ?? []) box.push(frame);
        vi.advanceTimersByTime(2);
      }
      vi.advanceTimersByTime(100);
      expect(coalescer.stats.holdMs).toBe(0);
      expect(coalescer.stats.frames).toBe(30 * 300);
      expect(coalescer.stats.writes).toBe(30 * 300);
      // No frame waited for a hold, only for its own flush to reach its socket
      // (6 ms at most; with a hold of the flush's duration, 12).
      groups.forEach((group, g) => {
        for (const socket of group) {
          socket.writes.forEach((bytes, i) => {
            const n = (JSON.parse(decode(bytes)[0] as string) as { n: number }).n;
            expect(n % 10).toBe(g);
            expect((socket.at[i] as number) - (pushedAt[n] as number)).toBeLessThanOrEqual(6 + 1e-6);
          });
        }
      });
    } finally {
      vi.useRealTimers();
    }
  });
});
