import type { IdempotencyStore } from './types.js';

interface Entry {
  readonly result: Promise<unknown>;
  expiresAt: number;
}

/**
 * Single-process {@link IdempotencyStore}: a key maps to the promise of its
 * first publish, so concurrent callers share it. A failed publish forgets the
 * key, so the caller may retry it.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  once<T>(key: string, ttlMs: number, publish: () => Promise<T>): Promise<T> {
    const now = this.now();
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > now) return existing.result as Promise<T>;
    const result = publish();
    const entry: Entry = { result, expiresAt: now + ttlMs };
    this.entries.set(key, entry);
    result.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return result;
  }

  /** Drops expired keys; called periodically by the broker. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
