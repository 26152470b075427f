import type { BrokerPublication } from '../broker/types.js';

/**
 * One channel held by one connection. While `live` is false (between a
 * subscribe and its ack/replay) live publications are buffered, so the ack
 * always precedes the channel's events and nothing falls between the replay
 * and the live stream. The connection counts `bufferedBytes` against its
 * outbound budget.
 */
export class Subscription {
  /** Epoch of the last event sent (or of the ack). */
  epoch = '';
  /** Offset of the last event sent (or the ack's baseline). */
  lastOffset = 0;
  live = false;
  /** Publications held back while not live; null once live (no array kept per subscription). */
  buffer: BrokerPublication[] | null = [];
  /** Bytes of the frames in `buffer`. */
  bufferedBytes = 0;

  constructor(readonly channel: string) {}

  /** Holds back one live publication; returns its size in bytes. */
  hold(publication: BrokerPublication): number {
    if (!this.buffer) return 0;
    this.buffer.push(publication);
    this.bufferedBytes += publication.data.length;
    return publication.data.length;
  }

  /**
   * Empties the buffer and returns what it held; `live` says whether the
   * subscription goes live (no buffer kept) or starts buffering again (a
   * repeated subscribe with `since`).
   */
  take(live: boolean): { publications: readonly BrokerPublication[]; bytes: number } {
    const taken = { publications: this.buffer ?? [], bytes: this.bufferedBytes };
    this.live = live;
    this.buffer = live ? null : [];
    this.bufferedBytes = 0;
    return taken;
  }
}
