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
 * Per-socket write coalescing: frames queued during one event-loop turn
 * leave in a single write when the turn ends (or after `delayMs`), so one
 * system call carries many frames. Order is preserved: every frame of a
 * connection goes through its queue.
 */
export class Coalescer {
  private readonly dirty = new Set<Outbox>();
  private scheduled = false;
  private readonly run = (): void => {
    this.scheduled = false;
    for (const outbox of this.dirty) outbox.flush();
    this.dirty.clear();
  };

  constructor(private readonly delayMs = 0) {}

  /** Creates the queue of one socket. */
  outbox(socket: WritableSocket): Outbox {
    return new Outbox(socket, this);
  }

  /** @internal */
  mark(outbox: Outbox): void {
    this.dirty.add(outbox);
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.delayMs > 0) setTimeout(this.run, this.delayMs);
    else setImmediate(this.run);
  }
}

/** The pending frames of one socket. */
export class Outbox {
  private frames: Buffer[] = [];
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

  /** Writes everything queued now (before a close frame, or at the end of the turn). */
  flush(): void {
    const frames = this.frames;
    if (frames.length === 0) return;
    this.frames = [];
    const bytes = this.bytes;
    this.bytes = 0;
    if (this.socket.destroyed) return;
    if (frames.length === 1) {
      this.socket.write(frames[0] as Buffer);
    } else if (bytes <= CONCAT_LIMIT) {
      this.socket.write(Buffer.concat(frames, bytes));
    } else {
      this.socket.cork();
      for (const frame of frames) this.socket.write(frame);
      this.socket.uncork();
    }
  }
}
