/** The part of a net.Socket the coalescer writes to. */
export interface WritableSocket {
  readonly destroyed: boolean;
  readonly writableLength: number;
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
}

// Up to this many queued bytes are copied into one buffer and written with
// one write; bigger batches go out as a corked writev without the copy.
const CONCAT_LIMIT = 64 * 1024;

/**
 * A flush that wrote to at least this many sockets marks the node as busy:
 * one more publication right after it would cost as many writes again, so
 * the next flush is held back (up to the bound) to let publications share
 * writes. Below it (a handful of sockets per publication) writes are cheap
 * and latency wins.
 */
export const BUSY_FLUSH_SOCKETS = 256;

/**
 * A pass writes this many sockets, then yields to the event loop: a flush
 * to thousands of sockets takes tens of milliseconds, and publications (and
 * pings, and upgrades) should not wait for all of it.
 */
export const FLUSH_CHUNK_SOCKETS = 256;

/**
 * A flush that ran this much later than it was due shows a lagging event
 * loop (the turn that scheduled it was long): the node is busy too.
 */
export const BUSY_LAG_MS = 5;

/**
 * Default bound of the adaptive hold, ms (`--coalesce-max-delay-ms`). The
 * hold itself is the cost of the busy flush (below), so this bound only
 * matters when one flush takes longer than it. It has to reach the
 * interval between publications for any two of them to share a write: with
 * 2,000 subscribers at 100k deliveries/s publications are 20 ms apart and a
 * flush takes about 16 ms, so a 5 ms bound merged nothing there (measured,
 * docs/performance.md).
 */
export const DEFAULT_COALESCE_MAX_DELAY_MS = 20;

/** Options of a {@link Coalescer}. */
export interface CoalescerOptions {
  /**
   * Fixed extra delay before every coalesced write, ms (0: end of the
   * current event-loop turn). Trades latency for fewer writes at any load.
   */
  delayMs?: number;
  /**
   * Upper bound of the load-adaptive hold, ms (0 disables it). After a busy
   * flush (see {@link BUSY_FLUSH_SOCKETS}, {@link BUSY_LAG_MS}) the next
   * flush starts no earlier than that flush's own duration (or the loop's
   * lag, if longer) after it ended, capped by this bound, so the
   * publications that arrive meanwhile leave in one write per socket. A
   * frame is never held longer than this by the adaptive hold.
   */
  maxDelayMs?: number;
  /** Monotonic clock in ms (tests pass a fake one). */
  now?: () => number;
}

/** Counters of a {@link Coalescer}, read by /metrics. */
export interface CoalescerStats {
  /** Socket writes made by flushes (one per socket per flush). */
  writes: number;
  /** Frames those writes carried. */
  frames: number;
  /** Frames per write of the most recent flush. */
  lastFramesPerWrite: number;
  /** The hold the next flush gets after the most recent one, ms (0 at light load). */
  holdMs: number;
  /** Flushes that wrote at least one socket. */
  flushes: number;
  /** Time those flushes took, ms (its rate is the writer's duty cycle). */
  flushMs: number;
}

/**
 * Per-socket write coalescing: frames queued during one event-loop turn
 * leave in a single write when the turn ends, so one system call carries
 * many frames. Order is preserved: every frame of a connection goes through
 * its queue.
 *
 * Load-adaptive: at light load a flush runs at the end of the turn (no added
 * latency). When the previous flush wrote to many sockets or ran late (the
 * event loop lags), the next one is held for as long as that flush took
 * (or as long as the loop lagged), times the share of its sockets that the
 * flush before it wrote too, at most `maxDelayMs`, counted from its end. Publications arriving in that window share each socket's write, so
 * the writer is busy at most about half the time and the cost per delivery
 * falls exactly when the node is short of CPU; a publication that comes
 * after the window is not delayed, and a frame waits at most `maxDelayMs`.
 *
 * A pass over more than {@link FLUSH_CHUNK_SOCKETS} sockets yields to the
 * event loop between chunks; a frame queued meanwhile for a socket the pass
 * has not reached yet leaves in that socket's write of this pass.
 */
export class Coalescer {
  /** Outboxes with frames for the next pass. */
  private dirty = new Set<Outbox>();
  /** The outboxes of the pass in progress, and where it is (null: no pass running). */
  private passing: Iterator<Outbox> | null = null;
  private passStats = { writes: 0, frames: 0, repeats: 0, writeMs: 0, lagMs: 0 };
  /** Number of the pass in progress or the last one (passes count from 1). */
  private passNo = 0;
  private scheduled = false;
  /** When the scheduled pass is due (ms on {@link now}); for the lag measure. */
  private dueAt = 0;
  /** Earliest start of the next pass: the end of the last one plus its hold. */
  private holdUntil = 0;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  readonly stats: CoalescerStats = { writes: 0, frames: 0, lastFramesPerWrite: 0, holdMs: 0, flushes: 0, flushMs: 0 };

  /** Starts a pass over every outbox marked so far. */
  private readonly run = (): void => {
    this.scheduled = false;
    const started = this.now();
    this.passNo += 1;
    this.passStats = { writes: 0, frames: 0, repeats: 0, writeMs: 0, lagMs: started - this.dueAt };
    const outboxes = this.dirty;
    this.dirty = new Set();
    this.passing = outboxes.values();
    this.chunk();
  };

  /**
   * Writes the next {@link FLUSH_CHUNK_SOCKETS} sockets of the pass, then
   * yields to the event loop until the pass is done. Publications handled in
   * between join the writes of the sockets this pass has not reached yet, so
   * a frame published during a long pass waits for the rest of it at most,
   * not for all of it and then the next one.
   */
  private readonly chunk = (): void => {
    const pass = this.passing;
    if (pass === null) return;
    const started = this.now();
    const passNo = this.passNo;
    let writes = 0;
    let frames = 0;
    let repeats = 0;
    let done = false;
    for (let n = 0; n < FLUSH_CHUNK_SOCKETS; n++) {
      const next = pass.next();
      if (next.done === true) {
        done = true;
        break;
      }
      const outbox = next.value;
      const written = outbox.flush();
      if (written > 0) {
        writes += 1;
        frames += written;
        if (outbox.lastPass === passNo - 1 && outbox.lastPass > 0) repeats += 1;
        outbox.lastPass = passNo;
      }
    }
    const ended = this.now();
    const ps = this.passStats;
    ps.writes += writes;
    ps.frames += frames;
    ps.repeats += repeats;
    ps.writeMs += ended - started;
    this.stats.writes += writes;
    this.stats.frames += frames;
    if (!done) {
      setImmediate(this.chunk);
      return;
    }
    this.passing = null;
    if (ps.writes > 0) {
      this.stats.lastFramesPerWrite = ps.frames / ps.writes;
      this.stats.flushes += 1;
      this.stats.flushMs += ps.writeMs;
    }
    const busy = ps.writes >= BUSY_FLUSH_SOCKETS || ps.lagMs >= BUSY_LAG_MS;
    // Hold as long as the busy pass spent writing: a fixed hold either
    // merges nothing (shorter than the gap between publications) or delays
    // frames more than the load needs; this one grows with the cost of a
    // pass and keeps the writer's duty cycle near one half. Scaled by the
    // share of sockets this pass wrote that the previous one wrote too: a
    // hold merges frames only for sockets that get them pass after pass (one
    // busy channel), not when every pass reaches other sockets (many quiet
    // channels), where it would only add latency.
    const repeatShare = ps.writes > 0 ? ps.repeats / ps.writes : 0;
    const hold = busy ? Math.min(this.maxDelayMs, Math.max(ps.writeMs, ps.lagMs) * repeatShare) : 0;
    this.stats.holdMs = hold;
    this.holdUntil = ended + hold;
    if (this.dirty.size > 0) this.schedule();
  };

  /**
   * @param options - a number is the fixed `delayMs` (the older signature),
   *   with the adaptive hold off.
   */
  constructor(options: CoalescerOptions | number = {}) {
    const opts: CoalescerOptions = typeof options === 'number' ? { delayMs: options } : options;
    this.delayMs = Math.max(0, opts.delayMs ?? 0);
    this.maxDelayMs = Math.max(0, opts.maxDelayMs ?? 0);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Creates the queue of one socket. */
  outbox(socket: WritableSocket): Outbox {
    return new Outbox(socket, this);
  }

  /** @internal */
  mark(outbox: Outbox): void {
    this.dirty.add(outbox);
    // A pass in progress schedules the next one when it ends.
    if (this.scheduled || this.passing !== null) return;
    this.schedule();
  }

  private schedule(): void {
    this.scheduled = true;
    const now = this.now();
    // The hold counts from the end of the busy pass, so a publication that
    // comes long after it is not delayed at all, and none waits more than
    // maxDelayMs for the adaptive part.
    const wait = Math.max(this.delayMs, this.holdUntil - now);
    if (wait > 0) {
      this.dueAt = now + wait;
      setTimeout(this.run, wait);
    } else {
      this.dueAt = now;
      setImmediate(this.run);
    }
  }
}

/** The pending frames of one socket. */
export class Outbox {
  private frames: Buffer[] = [];
  private bytes = 0;
  private dead = false;
  /** The coalescer's pass that last wrote here (0: none); tells whether sockets repeat from pass to pass. */
  lastPass = 0;

  constructor(
    private readonly socket: WritableSocket,
    private readonly coalescer: Coalescer,
  ) {}

  /** Bytes queued here plus bytes the socket has not handed to the kernel yet. */
  get bufferedAmount(): number {
    return this.bytes + this.socket.writableLength;
  }

  /**
   * Bytes written but not yet taken by the kernel: what a peer that stops
   * reading makes grow. Frames still queued here leave at the end of this
   * turn, so a burst inside one turn is not a slow consumer.
   */
  get backlog(): number {
    return this.socket.writableLength;
  }

  push(frame: Buffer): void {
    if (this.dead) return;
    if (this.frames.length === 0) this.coalescer.mark(this);
    this.frames.push(frame);
    this.bytes += frame.length;
  }

  /** Drops what is queued and everything pushed later (the socket is closing without us). */
  discard(): void {
    this.dead = true;
    this.frames = [];
    this.bytes = 0;
  }

  /**
   * Writes everything queued now (before a close frame, or when the
   * coalescer flushes). Returns the number of frames written (0: nothing
   * queued, or the socket is gone).
   */
  flush(): number {
    const frames = this.frames;
    if (frames.length === 0) return 0;
    this.frames = [];
    const bytes = this.bytes;
    this.bytes = 0;
    if (this.socket.destroyed) return 0;
    if (frames.length === 1) {
      this.socket.write(frames[0] as Buffer);
    } else if (bytes <= CONCAT_LIMIT) {
      this.socket.write(Buffer.concat(frames, bytes));
    } else {
      this.socket.cork();
      for (const frame of frames) this.socket.write(frame);
      this.socket.uncork();
    }
    return frames.length;
  }
}
