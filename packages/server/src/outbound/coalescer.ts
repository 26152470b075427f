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

/** Default bound of the adaptive hold, ms (`--coalesce-max-delay-ms`). */
export const DEFAULT_COALESCE_MAX_DELAY_MS = 5;

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
   * flush starts no earlier than this long after the busy one ended, so the
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
}

/**
 * Per-socket write coalescing: frames queued during one event-loop turn
 * leave in a single write when the turn ends, so one system call carries
 * many frames. Order is preserved: every frame of a connection goes through
 * its queue.
 *
 * Load-adaptive: at light load a flush runs at the end of the turn (no added
 * latency). When the previous flush wrote to many sockets or ran late (the
 * event loop lags), the next one is held until `maxDelayMs` after the
 * previous one ended: publications arriving in that window share each
 * socket's write, so the cost per delivery falls exactly when the node is
 * short of CPU, and a frame waits at most `maxDelayMs` for it.
 */
export class Coalescer {
  private readonly dirty = new Set<Outbox>();
  private scheduled = false;
  /** When the scheduled flush is due (ms on {@link now}); for the lag measure. */
  private dueAt = 0;
  /** Earliest start of the next flush: the end of the last flush plus its hold. */
  private holdUntil = 0;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  readonly stats: CoalescerStats = { writes: 0, frames: 0, lastFramesPerWrite: 0, holdMs: 0 };
  private readonly run = (): void => {
    this.scheduled = false;
    const started = this.now();
    const lagMs = started - this.dueAt;
    let writes = 0;
    let frames = 0;
    for (const outbox of this.dirty) {
      const written = outbox.flush();
      if (written > 0) {
        writes += 1;
        frames += written;
      }
    }
    this.dirty.clear();
    this.stats.writes += writes;
    this.stats.frames += frames;
    if (writes > 0) this.stats.lastFramesPerWrite = frames / writes;
    const busy = writes >= BUSY_FLUSH_SOCKETS || lagMs >= BUSY_LAG_MS;
    const hold = busy ? this.maxDelayMs : 0;
    this.stats.holdMs = hold;
    this.holdUntil = this.now() + hold;
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
    return frames.length;
  }
}
