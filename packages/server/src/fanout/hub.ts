import type { Broker, BrokerPublication } from '../broker/types.js';
import type { Logger } from '../log/logger.js';
import { textFrame } from '../outbound/frame.js';

/** Something local that receives a channel's publications (a connection). */
export interface Subscriber {
  /** `wire` is the publication's WebSocket frame, built once for every subscriber of this node. */
  deliver(publication: BrokerPublication, wire: Buffer): void;
}

/** A channel with several local subscribers. */
class Subscribers extends Set<Subscriber> {}

/**
 * The node's local fan-out: channel → local subscribers. Holds one broker
 * subscription per channel, taken on the first local subscriber and released
 * after the last, whatever broker runs underneath.
 *
 * A channel with one local subscriber (every per-user channel) maps to that
 * subscriber itself; a Set is made only for a second one: a Set's hash table
 * is about 120 bytes, per per-user channel per connection (issue 14, item 5).
 */
export class Hub {
  private readonly channels = new Map<string, Subscriber | Subscribers>();
  private readonly joining = new Map<string, Promise<void>>();

  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {}

  /** Number of channels with at least one local subscriber. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Local subscribers of a channel (for metrics and tests). */
  subscriberCount(channel: string): number {
    const entry = this.channels.get(channel);
    if (entry === undefined) return 0;
    return entry instanceof Subscribers ? entry.size : 1;
  }

  /**
   * Adds a local subscriber; resolves once the node receives the channel's
   * publications. Rejects (and leaves nothing behind) when the broker cannot
   * subscribe.
   */
  async add(channel: string, subscriber: Subscriber): Promise<void> {
    const entry = this.channels.get(channel);
    if (entry === undefined) {
      this.channels.set(channel, subscriber);
      const joining = this.broker.subscribe(channel);
      this.joining.set(channel, joining);
      try {
        await joining;
      } catch (error) {
        // Unless every subscriber left and the channel was joined anew
        // meanwhile, this join's subscribers (this one and any that came
        // while it was pending) all fail with it.
        if (this.joining.get(channel) === joining) this.channels.delete(channel);
        throw error;
      } finally {
        if (this.joining.get(channel) === joining) this.joining.delete(channel);
      }
      return;
    }
    if (entry instanceof Subscribers) entry.add(subscriber);
    else if (entry !== subscriber) this.channels.set(channel, new Subscribers([entry, subscriber]));
    const joining = this.joining.get(channel);
    // A pending join that fails removes the channel's entry, this subscriber with it.
    if (joining) await joining;
  }

  /** Removes a local subscriber; releases the broker subscription after the last. */
  remove(channel: string, subscriber: Subscriber): void {
    const entry = this.channels.get(channel);
    if (entry === undefined) return;
    if (entry instanceof Subscribers) {
      if (!entry.delete(subscriber)) return;
      if (entry.size > 1) return;
      const [only] = entry;
      if (only !== undefined) {
        // Back to the single-subscriber form: no Set kept for one subscriber.
        this.channels.set(channel, only);
        return;
      }
    } else if (entry !== subscriber) {
      return;
    }
    this.channels.delete(channel);
    this.broker.unsubscribe(channel).catch((error: unknown) => {
      this.logger.warn({ err: error, channel }, 'broker unsubscribe failed');
    });
  }

  /** Delivers one publication to every local subscriber of its channel. */
  dispatch(publication: BrokerPublication): void {
    const entry = this.channels.get(publication.channel);
    if (entry === undefined) return;
    const wire = textFrame(publication.data);
    if (!(entry instanceof Subscribers)) {
      this.deliver(entry, publication, wire);
      return;
    }
    for (const subscriber of entry) this.deliver(subscriber, publication, wire);
  }

  private deliver(subscriber: Subscriber, publication: BrokerPublication, wire: Buffer): void {
    try {
      subscriber.deliver(publication, wire);
    } catch (error) {
      // One failing subscriber must not stop delivery to the others.
      this.logger.error({ err: error, channel: publication.channel }, 'delivery failed');
    }
  }
}
