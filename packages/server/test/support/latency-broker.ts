import type { PublishResult, StreamPosition } from '@albatross/protocol';
import type {
  Broker,
  BrokerPublication,
  ControlMessage,
  HealthCheck,
  HistoryPage,
  IdempotencyStore,
  PublishInput,
  Recovery,
} from '../../src/broker/types.js';

/**
 * A {@link Broker} that adds random latency around another one's reads and
 * interest changes, as a networked broker (Redis) has: reads may resolve
 * a few milliseconds after the state they return, and interest changes
 * complete later, in the order they were asked (one connection). Publishing
 * and delivery stay as fast as the inner broker's, so live publications land
 * while subscribes and recoveries are in flight.
 */
export class LatencyBroker implements Broker {
  readonly kind = 'latency';
  private interest: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: Broker,
    private readonly maxDelayMs = 3,
    private readonly random: () => number = Math.random,
  ) {}

  get idempotency(): IdempotencyStore {
    return this.inner.idempotency;
  }

  private delay(): Promise<void> {
    const ms = Math.floor(this.random() * (this.maxDelayMs + 1));
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Delays before and after reading, so the answer may be a little stale when it arrives. */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    await this.delay();
    const value = await fn();
    await this.delay();
    return value;
  }

  private ordered(fn: () => Promise<void>): Promise<void> {
    const done = this.interest.then(() => this.delay()).then(fn);
    this.interest = done.catch(() => {});
    return done;
  }

  start(
    onPublication: (publication: BrokerPublication) => void,
    onControl?: (message: ControlMessage) => void,
  ): Promise<void> {
    return this.inner.start(onPublication, onControl);
  }
  broadcast(message: ControlMessage): Promise<void> {
    return this.ordered(() => this.inner.broadcast(message));
  }
  publish(channel: string, input: PublishInput): Promise<PublishResult> {
    return this.inner.publish(channel, input);
  }
  subscribe(channel: string): Promise<void> {
    return this.ordered(() => this.inner.subscribe(channel));
  }
  unsubscribe(channel: string): Promise<void> {
    return this.ordered(() => this.inner.unsubscribe(channel));
  }
  position(channel: string): Promise<StreamPosition> {
    return this.read(() => this.inner.position(channel));
  }
  recover(channel: string, since: StreamPosition): Promise<Recovery> {
    return this.read(() => this.inner.recover(channel, since));
  }
  history(channel: string, sinceOffset: number, limit: number): Promise<HistoryPage> {
    return this.read(() => this.inner.history(channel, sinceOffset, limit));
  }
  health(): Promise<HealthCheck> {
    return this.inner.health();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
