import { ErrorCode, type PublishResult, type StreamPosition } from '@albatross/protocol';
import { AlbatrossError } from '../errors.js';
import { canRecover, HistoryRing } from '../history/ring.js';
import { newEpoch } from './epoch.js';
import { buildEventFrame } from './event-frame.js';
import { MemoryIdempotencyStore } from './memory-idempotency.js';
import type {
  Broker,
  BrokerPublication,
  ControlMessage,
  HealthCheck,
  HistoryPage,
  IdempotencyStore,
  PublishInput,
  Recovery,
} from './types.js';

/** Options of the in-memory broker; defaults match the gateway's. */
export interface MemoryBrokerOptions {
  /** Publications kept per channel (default 1000). */
  historySize?: number;
  /** Longest a publication is kept, ms (default 10 minutes). */
  historyTtlMs?: number;
  /**
   * How long a channel nobody subscribes or publishes keeps its epoch and
   * offset, ms (default 24 h). After that its state is dropped and it starts a
   * new epoch on next use, so late resumers learn `recovered: false`.
   */
  channelIdleTtlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface ChannelState {
  epoch: string;
  offset: number;
  /**
   * Made on the first publication and dropped once trimmed empty: most
   * channels a node knows (every per-user channel of an idle connection)
   * never publish, and a ring is two objects per channel (issue 14, item 5).
   */
  history: HistoryRing<BrokerPublication> | null;
  subscribed: boolean;
  lastUsed: number;
}

/**
 * The embedded default {@link Broker}: history and fan-out inside one
 * process. Publications are delivered synchronously, in offset order.
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory';
  readonly idempotency: IdempotencyStore;
  private readonly idempotencyStore: MemoryIdempotencyStore;
  private readonly channels = new Map<string, ChannelState>();
  private readonly historySize: number;
  private readonly historyTtlMs: number;
  private readonly channelIdleTtlMs: number;
  private readonly now: () => number;
  private onPublication: ((publication: BrokerPublication) => void) | null = null;
  private onControl: ((message: ControlMessage) => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(options: MemoryBrokerOptions = {}) {
    this.historySize = options.historySize ?? 1000;
    this.historyTtlMs = options.historyTtlMs ?? 10 * 60_000;
    this.channelIdleTtlMs = options.channelIdleTtlMs ?? 24 * 60 * 60_000;
    this.now = options.now ?? Date.now;
    this.idempotencyStore = new MemoryIdempotencyStore(this.now);
    this.idempotency = this.idempotencyStore;
  }

  async start(
    onPublication: (publication: BrokerPublication) => void,
    onControl?: (message: ControlMessage) => void,
  ): Promise<void> {
    this.onPublication = onPublication;
    this.onControl = onControl ?? null;
    const every = Math.max(1000, Math.min(this.historyTtlMs, 60_000));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  private state(channel: string): ChannelState {
    let state = this.channels.get(channel);
    const now = this.now();
    if (!state) {
      state = {
        epoch: newEpoch(now),
        offset: 0,
        history: null,
        subscribed: false,
        lastUsed: now,
      };
      this.channels.set(channel, state);
    }
    state.lastUsed = now;
    return state;
  }

  async publish(channel: string, input: PublishInput): Promise<PublishResult> {
    const state = this.state(channel);
    const ts = this.now();
    state.offset += 1;
    const publication: BrokerPublication = {
      channel,
      offset: state.offset,
      epoch: state.epoch,
      ts,
      data: buildEventFrame(channel, state.offset, state.epoch, input.eventType, ts, input.payloadJson, input.metaJson),
    };
    state.history ??= new HistoryRing(this.historySize, this.historyTtlMs);
    state.history.push(publication);
    if (state.subscribed) this.onPublication?.(publication);
    return { channel, offset: state.offset, epoch: state.epoch };
  }

  /** One process is the whole deployment: the message goes to this broker's own handler. */
  async broadcast(message: ControlMessage): Promise<void> {
    if (!this.onPublication) throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'broker not started');
    this.onControl?.(message);
  }

  async subscribe(channel: string): Promise<void> {
    this.state(channel).subscribed = true;
  }

  async unsubscribe(channel: string): Promise<void> {
    const state = this.channels.get(channel);
    if (state) state.subscribed = false;
  }

  async position(channel: string): Promise<StreamPosition> {
    const state = this.state(channel);
    return { offset: state.offset, epoch: state.epoch };
  }

  async recover(channel: string, since: StreamPosition): Promise<Recovery> {
    const state = this.state(channel);
    const history = this.trimmed(state);
    const position = { offset: state.offset, epoch: state.epoch };
    const recovered =
      since.epoch === state.epoch && canRecover(since.offset, state.offset, history?.oldestOffset(), this.historySize);
    return { position, recovered, publications: recovered && history ? history.after(since.offset) : [] };
  }

  async history(channel: string, sinceOffset: number, limit: number): Promise<HistoryPage> {
    const state = this.state(channel);
    return {
      position: { offset: state.offset, epoch: state.epoch },
      publications: this.trimmed(state)?.after(sinceOffset, limit) ?? [],
    };
  }

  /** The channel's history without expired entries; null (and dropped) when nothing is left. */
  private trimmed(state: ChannelState, now = this.now()): HistoryRing<BrokerPublication> | null {
    const history = state.history;
    if (!history) return null;
    history.trim(now);
    if (history.size > 0) return history;
    state.history = null;
    return null;
  }

  async health(): Promise<HealthCheck> {
    return { status: 'ok', channels: this.channels.size };
  }

  /** Trims expired history and forgets idle channels. */
  sweep(): void {
    const now = this.now();
    for (const [channel, state] of this.channels) {
      const history = this.trimmed(state, now);
      // A channel that never published has nothing to recover: forget it as
      // soon as history would have expired, so subscribing to many made-up
      // names does not pin memory for a day.
      const idleTtl = state.offset === 0 ? Math.min(this.historyTtlMs, this.channelIdleTtlMs) : this.channelIdleTtlMs;
      if (!state.subscribed && history === null && now - state.lastUsed > idleTtl) {
        this.channels.delete(channel);
      }
    }
    this.idempotencyStore.sweep();
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.onPublication = null;
    this.onControl = null;
  }
}
