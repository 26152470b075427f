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
 * A flush that ran this much later than it was due shows a lagging event
 * loop (the turn that scheduled it was long): the node is busy too.
 */
export const BUSY_LAG_MS = 5;

/**
 * The hold after a busy flush, as a share of that flush's duration: the
 * socket writes then take at most 1 / (1 + 0.5) = 2/3 of the time while the
 * hold is on, leaving the rest to publishing, reading and GC. A hold of the
 * whole duration (writes at most half the time) delayed frames at 50k
 * deliveries/s with 2,000 subscribers, where a flush takes 23 ms of every
 * 40 and needs no merging (p99 117-133 ms against 38 ms, measured).
 */
export const HOLD_PER_FLUSH = 0.5;

/**
 * Default bound of the adaptive hold, ms (`--coalesce-max-delay-ms`). The
 * hold itself follows the cost of the busy flush (below), so this bound only
 * matters when one flush takes longer than twice it. It has to reach the
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
 * event loop lags), the next one is held for half as long as that flush took
 * (or as long as the loop lagged), times the share of its sockets that the
 * flush before it wrote too, at most `maxDelayMs`, counted from its end.
 * Publications arriving in that window share each socket's write, so the
 * writes take at most about 2/3 of the time and the cost per delivery
 * falls exactly when the node is short of CPU; a publication that comes
 * after the window is not delayed, and a frame waits at most `maxDelayMs`.
 */
export class Coalescer {
  private readonly dirty = new Set<Outbox>();
  private scheduled = false;
  /** When the scheduled flush is due (ms on {@link now}); for the lag measure. */
  private dueAt = 0;
  /** Earliest start of the next flush: the end of the last flush plus its hold. */
  private holdUntil = 0;
  /** Number of the last flush (flushes count from 1). */
  private flushNo = 0;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  readonly stats: CoalescerStats = { writes: 0, frames: 0, lastFramesPerWrite: 0, holdMs: 0, flushes: 0, flushMs: 0 };
  private readonly run = (): void => {
    this.scheduled = false;
    const started = this.now();
    const lagMs = started - this.dueAt;
    const flushNo = ++this.flushNo;
    let writes = 0;
    let frames = 0;
    let repeats = 0;
    for (const outbox of this.dirty) {
      const written = outbox.flush();
      if (written > 0) {
        writes += 1;
        frames += written;
        if (outbox.lastFlush === flushNo - 1 && outbox.lastFlush > 0) repeats += 1;
        outbox.lastFlush = flushNo;
      }
    }
    this.dirty.clear();
    const ended = this.now();
    this.stats.writes += writes;
    this.stats.frames += frames;
    if (writes > 0) {
      this.stats.lastFramesPerWrite = frames / writes;
      this.stats.flushes += 1;
      this.stats.flushMs += ended - started;
    }
    const busy = writes >= BUSY_FLUSH_SOCKETS || lagMs >= BUSY_LAG_MS;
    // Hold in proportion to what the busy flush cost: a fixed hold either
    // merges nothing (shorter than the gap between publications) or delays
    // frames more than the load needs; this one grows with the cost of a
    // flush and keeps the writer's duty cycle under 2/3. Scaled by the share of
    // sockets this flush wrote that the previous one wrote too: a hold
    // merges frames only for sockets that get them flush after flush (a busy
    // channel), not when every flush reaches other sockets (many quiet
    // channels), where it would only add latency.
    const repeatShare = writes > 0 ? repeats / writes : 0;
    const hold = busy
      ? Math.min(this.maxDelayMs, Math.max((ended - started) * HOLD_PER_FLUSH, lagMs) * repeatShare)
      : 0;
    this.stats.holdMs = hold;
    this.holdUntil = ended + hold;
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
    if (this.scheduled) return;
    this.scheduled = true;
    const now = this.now();
    // The hold counts from the end of the busy flush, so a publication that
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
  /** Null while nothing is queued: an idle socket keeps no array. */
  private frames: Buffer[] | null = null;
  private bytes = 0;
  private dead = false;
  /** The socket's `writableLength` right after the last flush (see `backlogBound`). */
  private backlogAfterFlush = 0;
  /** The coalescer's flush that last wrote here (0: none); tells whether sockets repeat from flush to flush. */
  lastFlush = 0;

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

  /**
   * `backlog` as read at the end of the last flush: an upper bound on it
   * until the next flush, since a socket only drains in between (stale only
   * by control frames written meanwhile, pings, pongs and the close frame,
   * until the next flush reads it again). Read per frame on the
   * delivery path, where the socket's own getter was a measurable share of
   * the cost at peak rates; only when this bound passes a budget does the
   * caller need the exact `backlog`.
   */
  get backlogBound(): number {
    return this.backlogAfterFlush;
  }

  push(frame: Buffer): void {
    if (this.dead) return;
    if (this.frames === null) {
      this.frames = [frame];
      this.coalescer.mark(this);
    } else {
      this.frames.push(frame);
    }
    this.bytes += frame.length;
  }

  /** Drops what is queued and everything pushed later (the socket is closing without us). */
  discard(): void {
    this.dead = true;
    this.frames = null;
    this.bytes = 0;
  }

  /**
   * Writes everything queued now (before a close frame, or when the
   * coalescer flushes). Returns the number of frames written (0: nothing
   * queued, or the socket is gone).
   */
  flush(): number {
    const frames = this.frames;
    if (frames === null) return 0;
    this.frames = null;
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
    this.backlogAfterFlush = this.socket.writableLength;
    return frames.length;
  }
}
