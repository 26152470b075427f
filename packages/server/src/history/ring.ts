/** Slots a ring starts with; it doubles up to its capacity as it fills. */
const INITIAL_SLOTS = 8;

/**
 * A channel's bounded history: the last `capacity` publications, each kept
 * at most `ttlMs`. A circular buffer that grows by doubling up to its
 * capacity (most channels hold a few publications, and a node holds many
 * channels), so appending never allocates once full and trimming is
 * O(expired).
 */
export class HistoryRing<T extends { readonly offset: number; readonly ts: number }> {
  private items: Array<T | undefined>;
  private start = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly ttlMs: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('history capacity must be a positive integer');
    // No slot until the first push: most channels a node knows never publish.
    this.items = [];
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length && this.items.length < this.capacity) this.grow();
    const slots = this.items.length;
    const index = (this.start + this.count) % slots;
    this.items[index] = item;
    if (this.count < slots) this.count += 1;
    else this.start = (this.start + 1) % slots;
  }

  private grow(): void {
    const slots = this.items.length;
    const next = new Array<T | undefined>(Math.min(this.capacity, Math.max(INITIAL_SLOTS, slots * 2)));
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.start + i) % slots];
    this.items = next;
    this.start = 0;
  }

  /** Drops entries older than the TTL. */
  trim(now: number): void {
    const cutoff = now - this.ttlMs;
    while (this.count > 0) {
      const oldest = this.items[this.start];
      if (oldest === undefined || oldest.ts >= cutoff) break;
      this.items[this.start] = undefined;
      this.start = (this.start + 1) % this.items.length;
      this.count -= 1;
    }
  }

  /** Offset of the oldest entry kept, or undefined when empty. */
  oldestOffset(): number | undefined {
    return this.count === 0 ? undefined : this.items[this.start]?.offset;
  }

  /** Entries with offset > `afterOffset`, ascending, at most `limit`. Offsets are contiguous. */
  after(afterOffset: number, limit = Number.POSITIVE_INFINITY): T[] {
    const out: T[] = [];
    const oldest = this.oldestOffset();
    if (oldest === undefined) return out;
    const skip = Math.max(0, afterOffset + 1 - oldest);
    for (let i = skip; i < this.count && out.length < limit; i++) {
      const item = this.items[(this.start + i) % this.items.length];
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.start = 0;
    this.count = 0;
  }
}

/**
 * Whether every publication after `sinceOffset` can be replayed, given the
 * channel's latest offset and the oldest offset its history still holds.
 * Exactly the last `historySize` publications are recoverable, even if more
 * happen to be kept.
 */
export function canRecover(
  sinceOffset: number,
  latestOffset: number,
  oldestKept: number | undefined,
  historySize: number,
): boolean {
  if (sinceOffset > latestOffset) return false;
  if (sinceOffset === latestOffset) return true;
  if (latestOffset - sinceOffset > historySize) return false;
  return oldestKept !== undefined && oldestKept <= sinceOffset + 1;
}
