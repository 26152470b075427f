import type { Broker, BrokerPublication } from '../broker/types.js';
import type { Logger } from '../log/logger.js';
import { textFrame } from '../outbound/frame.js';

/** Something local that receives a channel's publications (a connection). */
export interface Subscriber {
  /** `wire` is the publication's WebSocket frame, built once for every subscriber of this node. */
  deliver(publication: BrokerPublication, wire: Buffer): void;
}

/**
 * The node's local fan-out: channel → local subscribers. Holds one broker
 * subscription per channel, taken on the first local subscriber and released
 * after the last, whatever broker runs underneath.
 */
export class Hub {
  private readonly channels = new Map<string, Set<Subscriber>>();
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
    return this.channels.get(channel)?.size ?? 0;
  }

  /**
   * Adds a local subscriber; resolves once the node receives the channel's
   * publications. Rejects (and leaves nothing behind) when the broker cannot
   * subscribe.
   */
  async add(channel: string, subscriber: Subscriber): Promise<void> {
    let set = this.channels.get(channel);
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
      const joining = this.broker.subscribe(channel);
      this.joining.set(channel, joining);
      set.add(subscriber);
      try {
        await joining;
      } catch (error) {
        if (this.channels.get(channel) === set) this.channels.delete(channel);
        throw error;
      } finally {
        if (this.joining.get(channel) === joining) this.joining.delete(channel);
      }
      return;
    }
    set.add(subscriber);
    const joining = this.joining.get(channel);
    if (joining) {
      try {
        await joining;
      } catch (error) {
        set.delete(subscriber);
        throw error;
      }
    }
  }

  /** Removes a local subscriber; releases the broker subscription after the last. */
  remove(channel: string, subscriber: Subscriber): void {
    const set = this.channels.get(channel);
    if (!set?.delete(subscriber) || set.size > 0) return;
    this.channels.delete(channel);
    this.broker.unsubscribe(channel).catch((error: unknown) => {
      this.logger.warn({ err: error, channel }, 'broker unsubscribe failed');
    });
  }

  /** Delivers one publication to every local subscriber of its channel. */
  dispatch(publication: BrokerPublication): void {
    const set = this.channels.get(publication.channel);
    if (!set || set.size === 0) return;
    const wire = textFrame(publication.data);
    for (const subscriber of set) {
      try {
        subscriber.deliver(publication, wire);
      } catch (error) {
        // One failing subscriber must not stop delivery to the others.
        this.logger.error({ err: error, channel: publication.channel }, 'delivery failed');
      }
    }
  }
}
