/**
 * Something a {@link DeadlineQueue} can hold. The two fields are the queue's
 * bookkeeping, kept on the item itself so that queueing allocates nothing:
 * an item is in at most one queue at a time.
 */
export interface Scheduled {
  /** When the item is due, on its queue's clock. */
  deadlineAt: number;
  /** Index in its queue's heap; -1 when in no queue. */
  deadlineSlot: number;
}

// setTimeout's maximum delay; a later deadline is waited for in steps.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Deadlines of many items behind one timer: a binary min-heap by deadline
 * and a single `setTimeout` for the earliest. Replaces one `Timeout` (and its
 * closure) per connection, which an idle connection would otherwise hold
 * for its whole life (issue 14, item 5), and makes arming and cancelling a
 * deadline a few array moves instead of a timer-list insertion (item 4).
 *
 * `onDue` is called once per deadline, at or after it (never before: the
 * clock is read again when the timer fires), with the item already out of
 * the queue, so it may schedule the item again.
 */
export class DeadlineQueue<T extends Scheduled> {
  private readonly heap: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires, on {@link now}'s clock. */
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly onDue: (item: T) => void,
    /** The clock deadlines are on, ms (read on each use, so tests may fake it). */
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Items waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** Whether `item` waits in this queue. */
  has(item: T): boolean {
    return item.deadlineSlot >= 0 && this.heap[item.deadlineSlot] === item;
  }

  /** Sets (or moves) the deadline of `item` to `at`. */
  schedule(item: T, at: number): void {
    if (this.has(item)) this.removeAt(item.deadlineSlot);
    item.deadlineAt = at;
    item.deadlineSlot = this.heap.length;
    this.heap.push(item);
    this.siftUp(item.deadlineSlot);
    this.arm();
  }

  /** Takes `item` out of the queue; nothing when it is not in it (or in another queue). */
  cancel(item: T): void {
    if (!this.has(item)) return;
    this.removeAt(item.deadlineSlot);
    if (this.heap.length === 0) this.disarm();
  }

  /** Forgets every item and stops the timer. */
  clear(): void {
    for (const item of this.heap) item.deadlineSlot = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private readonly run = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    try {
      const now = this.now();
      for (let first = this.heap[0]; first !== undefined && first.deadlineAt <= now; first = this.heap[0]) {
        this.removeAt(0);
        this.onDue(first);
      }
    } finally {
      this.arm();
    }
  };

  /** Makes sure the timer fires by the earliest deadline. */
  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) {
      this.disarm();
      return;
    }
    if (this.timer !== null && this.timerAt <= first.deadlineAt) return;
    this.disarm();
    const now = this.now();
    const delay = Math.min(Math.max(0, first.deadlineAt - now), MAX_TIMER_MS);
    this.timerAt = now + delay;
    this.timer = setTimeout(this.run, delay);
    // The sockets keep the process alive, not their deadlines.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private removeAt(slot: number): void {
    const heap = this.heap;
    const removed = heap[slot];
    const last = heap.pop();
    if (removed) removed.deadlineSlot = -1;
    if (last === undefined || last === removed) return;
    heap[slot] = last;
    last.deadlineSlot = slot;
    this.siftDown(slot);
    this.siftUp(last.deadlineSlot);
  }

  private siftUp(slot: number): void {
    const heap = this.heap;
    const item = heap[slot];
    if (item === undefined) return;
    let i = slot;
    while (i > 0) {
      const parentSlot = (i - 1) >> 1;
      const parent = heap[parentSlot] as T;
      if (parent.deadlineAt <= item.deadlineAt) break;
      heap[i] = parent;
      parent.deadlineSlot = i;
      i = parentSlot;
    }
    heap[i] = item;
    item.deadlineSlot = i;
  }

  private siftDown(slot: number): void {
    const heap = this.heap;
    const item = heap[slot];
    if (item === undefined) return;
    const length = heap.length;
    let i = slot;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && (heap[right] as T).deadlineAt < (heap[left] as T).deadlineAt) child = right;
      const smaller = heap[child] as T;
      if (smaller.deadlineAt >= item.deadlineAt) break;
      heap[i] = smaller;
      smaller.deadlineSlot = i;
      i = child;
    }
    heap[i] = item;
    item.deadlineSlot = i;
  }
}
