import type { BrokerPublication } from '../broker/types.js';

/**
 * One channel held by one connection. While `live` is false (between a
 * subscribe and its ack/replay) live publications are buffered, so the ack
 * always precedes the channel's events and nothing falls between the replay
 * and the live stream.
 */
export class Subscription {
  /** Epoch of the last event sent (or of the ack). */
  epoch = '';
  /** Offset of the last event sent (or the ack's baseline). */
  lastOffset = 0;
  live = false;
  /** Publications held back while not live; null once live (no array kept per subscription). */
  buffer: BrokerPublication[] | null = [];

  constructor(readonly channel: string) {}

  /** Starts buffering again (a repeated subscribe with `since`). */
  pause(): void {
    this.live = false;
    this.buffer = [];
  }
}
