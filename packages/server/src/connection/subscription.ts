import type { BrokerPublication } from '../broker/types.js';
import type { Subscriber } from '../fanout/hub.js';

/** The connection a subscription belongs to, as the subscription sees it. */
export interface SubscriptionOwner {
  /** A live publication of `subscription`'s channel, with its frame built for the wire. */
  deliverTo(subscription: Subscription, publication: BrokerPublication, wire: Buffer): void;
}

/**
 * One channel held by one connection. While `live` is false (between a
 * subscribe and its ack/replay) live publications are buffered, so the ack
 * always precedes the channel's events and nothing falls between the replay
 * and the live stream. The connection counts `bufferedBytes` against its
 * outbound budget.
 *
 * It is what the hub holds for the channel (not the connection), so a
 * publication reaches its subscription without a lookup by channel name,
 * and a connection keeps its subscriptions in a short list through `next`
 * instead of a Map of its own (issue 14, item 5).
 */
export class Subscription implements Subscriber {
  /** Epoch of the last event sent (or of the ack). */
  epoch = '';
  /** Offset of the last event sent (or the ack's baseline). */
  lastOffset = 0;
  live = false;
  /** Publications held back while not live; null once live (no array kept per subscription). */
  buffer: BrokerPublication[] | null = [];
  /** Bytes of the frames in `buffer`. */
  bufferedBytes = 0;

  /** The connection's next subscription (its list, in subscription order). */
  next: Subscription | null = null;

  constructor(
    readonly channel: string,
    private readonly owner: SubscriptionOwner,
  ) {}

  deliver(publication: BrokerPublication, wire: Buffer): void {
    this.owner.deliverTo(this, publication, wire);
  }

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
