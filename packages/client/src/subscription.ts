import type { StreamPosition } from '@albatross/protocol';
import { Emitter, type Unsubscribe } from './emitter.js';
import type { AlbatrossClientError } from './errors.js';
import type { EventOf, RealtimeEvent } from './types.js';

/** States of a {@link Subscription}. */
export const SubscriptionState = {
  /** Not wanted (never subscribed, or unsubscribed). */
  Unsubscribed: 'unsubscribed',
  /** Wanted, waiting for a connection or for the server's answer. */
  Subscribing: 'subscribing',
  /** The server delivers the channel's events. */
  Subscribed: 'subscribed',
  /**
   * Rejected by the server for good (e.g. `FORBIDDEN`): see `error`. Not
   * retried, not resubscribed on reconnect; `subscribe()` asks again.
   */
  Error: 'error',
} as const;
/** One of {@link SubscriptionState}. */
export type SubscriptionState = (typeof SubscriptionState)[keyof typeof SubscriptionState];

/** Why a channel's data may be stale: the app must refetch what it shows from it. */
export interface StaleEvent {
  channel: string;
  /**
   * `unrecoverable`: the server could not replay what was missed (`recovered:false`);
   * `gap`: the server announced a gap; `epoch`: the channel's history was reset.
   */
  reason: 'unrecoverable' | 'gap' | 'epoch';
}

/** Events of a {@link Subscription}. */
export interface SubscriptionEvents<E = Record<string, unknown>> {
  state: { old: SubscriptionState; new: SubscriptionState };
  /** An event of this channel, in offset order, never twice. */
  event: EventOf<E>;
  /** Refetch: what was missed on this channel cannot be replayed. */
  stale: StaleEvent;
  /** (Re)subscribed; `recovered` tells whether everything missed was replayed (undefined on a first subscribe). */
  subscribed: { recovered: boolean | undefined };
  error: AlbatrossClientError;
}

/** What a subscription needs from its client. @internal */
export interface SubscriptionHost {
  want(subscription: Subscription<never>): void;
  unwant(subscription: Subscription<never>): void;
}

/**
 * One channel the app wants. It lives across reconnects: after each one the
 * client resubscribes it with `since` = the last position it delivered, and
 * the server replays what was missed; if it cannot, the subscription emits
 * `stale`. Get one from `client.subscribe(channel)`.
 *
 * @example
 * const sub = client.subscribe(`tenant:${tenantId}:updates`);
 * sub.on('event', (event) => console.log(event.event_type, event.payload));
 * sub.on('stale', () => refetchEverything());
 * sub.onEvent('user.created', (user) => addUser(user));
 */
export class Subscription<E = Record<string, unknown>> extends Emitter<SubscriptionEvents<E>> {
  /** Current state; changes are emitted as `state`. */
  state: SubscriptionState = SubscriptionState.Unsubscribed;
  /** Position of the last event delivered (or of the subscribe answer); `null` before the first. */
  position: StreamPosition | null = null;
  /**
   * Whether the last resubscribe replayed everything missed: `true`, `false`
   * (a `stale` was emitted), or `undefined` before any resubscribe.
   */
  recovered: boolean | undefined = undefined;
  /** Why the server rejected this subscription, when it did. */
  error: AlbatrossClientError | null = null;
  /** True for a channel the server subscribed by itself at connect (user and tenant baseline). */
  serverSide = false;
  /** @internal id of the subscribe request in flight, 0 when none */
  inflight = 0;

  constructor(
    /** The channel name. */
    readonly channel: string,
    private readonly host: SubscriptionHost,
  ) {
    super();
  }

  /** Wants the channel again after `unsubscribe()` or a rejection (state `error`). */
  subscribe(): this {
    this.host.want(this as unknown as Subscription<never>);
    return this;
  }

  /** Stops the channel's events; the object can be subscribed again later. */
  unsubscribe(): void {
    this.host.unwant(this as unknown as Subscription<never>);
  }

  /**
   * Listens to one event type; the handler gets its typed payload.
   *
   * @example
   * sub.onEvent('user.deleted', ({ id }) => removeUser(id));
   */
  onEvent<T extends keyof E & string>(
    type: T,
    handler: (payload: E[T], event: RealtimeEvent<T, E[T]>) => void,
  ): Unsubscribe {
    return this.on('event', (event) => {
      const e = event as RealtimeEvent;
      if (e.event_type === type) handler(e.payload as E[T], e as RealtimeEvent<T, E[T]>);
    });
  }

  /** @internal */
  setState(state: SubscriptionState): void {
    const old = this.state;
    if (old === state) return;
    this.state = state;
    this.emit('state', { old, new: state });
  }

  /** @internal */
  fire<K extends keyof SubscriptionEvents<E>>(name: K, value: SubscriptionEvents<E>[K]): void {
    this.emit(name, value);
  }
}
