import type { PublishResult, StreamPosition } from '@albatross/protocol';
import type { ConnectionCounter } from '../limits/connection-counter.js';

export type { AcquireResult, ConnectionCounter, ConnectionLimits } from '../limits/connection-counter.js';

/**
 * One publication as it travels inside a node: its position and the complete
 * serialised `event` frame, built once per node and sent as-is to every local
 * subscriber (never re-serialised per subscriber).
 */
export interface BrokerPublication {
  readonly channel: string;
  readonly offset: number;
  readonly epoch: string;
  readonly ts: number;
  /** UTF-8 JSON of the `event` frame. */
  readonly data: Buffer;
}

/** What a broker needs to append a publication; payload and meta arrive pre-serialised. */
export interface PublishInput {
  readonly eventType: string;
  /** JSON text of the payload, serialised once per publish call. */
  readonly payloadJson: string;
  /** JSON text of `meta`, when there is one. */
  readonly metaJson?: string;
}

/** Answer of a recovery request: all or nothing. */
export interface Recovery {
  /** The channel's position when history was read. */
  readonly position: StreamPosition;
  /** True when every publication after `since` is in `publications`. */
  readonly recovered: boolean;
  /** Publications after `since`, ascending; empty when `recovered` is false. */
  readonly publications: readonly BrokerPublication[];
}

/** A page of recoverable history. */
export interface HistoryPage {
  readonly position: StreamPosition;
  readonly publications: readonly BrokerPublication[];
}

/**
 * Which live connections a disconnect closes; fields combine with AND, at
 * least one is required. Used by `gateway.disconnect` and `POST /api/disconnect`.
 */
export interface DisconnectFilter {
  user_id?: string;
  tenant_id?: string;
  api_key_id?: string;
  /** One connection, by the `connection_id` the registry lists (unique across nodes). */
  connection_id?: string;
}

/**
 * A message to every node of the deployment, through the broker (not a
 * channel: clients never see it). Today the only kind is `disconnect`.
 */
export interface ControlMessage {
  readonly kind: 'disconnect';
  /** Id of the node that sent it, so the sender can skip its own copy. */
  readonly origin: string;
  readonly filter: DisconnectFilter;
}

/** Health of one dependency, as reported by `/health`. */
export interface HealthCheck {
  readonly status: 'ok' | 'degraded' | 'down';
  readonly [detail: string]: unknown;
}

/**
 * Remembers publish results by idempotency key, deployment-wide: the first
 * call with a key runs `publish`; every later or concurrent call within
 * `ttlMs` gets that first result and publishes nothing.
 */
export interface IdempotencyStore {
  once<T>(key: string, ttlMs: number, publish: () => Promise<T>): Promise<T>;
}

/**
 * Scale-out and history behind one interface (Socket.IO's adapter split): the
 * in-memory broker is the embedded default, the Redis broker spans nodes.
 * Connection code only ever sees this interface.
 *
 * Contract:
 * - `publish` assigns the next offset (previous + 1, starting at 1 in each
 *   epoch), appends to the channel's bounded history and delivers the
 *   publication to every node subscribed to the channel, in offset order.
 * - `subscribe`/`unsubscribe` are node-level interest, reference-counted by
 *   the caller (the hub): called on first local subscriber and after the last.
 * - `recover` is all or nothing: either every publication after `since` or
 *   none with `recovered: false`.
 * - `broadcast` hands a control message to the `onControl` handler of every
 *   started broker of the deployment, the sender's included, at most once
 *   each (best effort like pub/sub: a node whose connection to the broker is
 *   down at that moment misses it).
 */
export interface Broker {
  /** Short name for logs and health (`memory`, `redis`). */
  readonly kind: string;
  /**
   * Starts the broker; `onPublication` receives every publication of
   * subscribed channels, `onControl` every control message broadcast in the
   * deployment (see {@link Broker.broadcast}).
   */
  start(
    onPublication: (publication: BrokerPublication) => void,
    onControl?: (message: ControlMessage) => void,
  ): Promise<void>;
  /**
   * Sends a control message to every node of the deployment (this one
   * included); resolves once the broker accepted it, rejects with
   * `UNAVAILABLE` when it cannot be sent.
   */
  broadcast(message: ControlMessage): Promise<void>;
  publish(channel: string, input: PublishInput): Promise<PublishResult>;
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** The channel's latest position (creating its epoch on first use). */
  position(channel: string): Promise<StreamPosition>;
  /** Every publication after `since`, or `recovered: false` when that is impossible. */
  recover(channel: string, since: StreamPosition): Promise<Recovery>;
  /** Up to `limit` recoverable publications with offset > `sinceOffset`. */
  history(channel: string, sinceOffset: number, limit: number): Promise<HistoryPage>;
  readonly idempotency: IdempotencyStore;
  /**
   * Deployment-wide connection counts (expiring per-node leases), for brokers
   * that span nodes. Absent: the gateway counts connections per node.
   */
  readonly connectionCounter?: ConnectionCounter;
  /** Health of the broker; `down` while publishing or delivery is broken. */
  health(): Promise<HealthCheck>;
  close(): Promise<void>;
}
