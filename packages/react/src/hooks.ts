import type {
  AlbatrossClient,
  ChannelEvents,
  ConnectionSnapshot,
  EventMap,
  EventOf,
  KnownChannel,
  RealtimeEvent,
  Subscription,
  SubscriptionState,
} from '@albatross/client';
import { type DependencyList, useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { useRealtime } from './context.js';

/**
 * The connection's state, retry attempt and last error; re-renders on change.
 *
 * @example
 * const { state, attempt } = useConnectionState();
 * if (state === 'connecting' && attempt > 2) return <p>Still trying…</p>;
 */
export function useConnectionState(): ConnectionSnapshot {
  const client = useRealtime();
  const subscribe = useCallback(
    (notify: () => void) => {
      const offs = [
        client.on('state', notify),
        client.on('reconnecting', notify),
        client.on('error', notify),
        client.on('connected', notify),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
    [client],
  );
  const snapshot = () => client.getSnapshot();
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** What {@link useSubscription} returns about its channel. */
export interface SubscriptionSnapshot {
  state: SubscriptionState;
  /** Whether the last resubscribe replayed everything (undefined before any). */
  recovered: boolean | undefined;
  position: Subscription['position'];
  error: Subscription['error'];
}

const UNSUBSCRIBED: SubscriptionSnapshot = { state: 'unsubscribed', recovered: undefined, position: null, error: null };
const snapshots = new WeakMap<object, SubscriptionSnapshot>();
const holders = new WeakMap<object, number>();
const owned = new WeakSet<object>();

function snapshotOf(sub: Subscription | undefined): SubscriptionSnapshot {
  if (!sub) return UNSUBSCRIBED;
  const last = snapshots.get(sub);
  if (
    last &&
    last.state === sub.state &&
    last.recovered === sub.recovered &&
    last.position === sub.position &&
    last.error === sub.error
  ) {
    return last;
  }
  const next = { state: sub.state, recovered: sub.recovered, position: sub.position, error: sub.error };
  snapshots.set(sub, next);
  return next;
}

/** Takes a reference on a channel's subscription, creating it if needed. */
function acquire(client: AlbatrossClient, channel: string): Subscription {
  const existing = client.getSubscription(channel);
  const sub = existing ?? client.subscribe(channel);
  if (!existing) owned.add(sub);
  else if (sub.state === 'unsubscribed') sub.subscribe();
  holders.set(sub, (holders.get(sub) ?? 0) + 1);
  return sub;
}

/**
 * Drops a reference; the last one unsubscribes a channel the hooks created,
 * one tick later, so a remount (StrictMode, route change) does not churn.
 */
function release(sub: Subscription): void {
  const left = (holders.get(sub) ?? 1) - 1;
  holders.set(sub, left);
  if (left > 0 || !owned.has(sub)) return;
  setTimeout(() => {
    // A baseline channel is the server's (even if a hook asked for it before `welcome`): keep it.
    if (holders.get(sub) === 0 && sub.state !== 'unsubscribed' && !sub.serverSide) {
      owned.delete(sub);
      sub.unsubscribe();
    }
  }, 0);
}

/**
 * Subscribes `channel` while the component is mounted (shared with every
 * other user of the channel) and calls `handler` for each event, in order and
 * never twice. `handler` is re-bound when `deps` change, like an effect.
 * Pass `null` as the channel to subscribe nothing.
 *
 * @example
 * const { state, recovered } = useSubscription(`tenant:${tenantId}:updates`, (event) => {
 *   if (event.event_type === 'user.created') toast(`${event.payload.name} joined`);
 * }, []);
 */
export function useSubscription(
  channel: string | null,
  handler?: (event: RealtimeEvent) => void,
  deps: DependencyList = [],
): SubscriptionSnapshot {
  const client = useRealtime();
  const subscribe = useCallback(
    (notify: () => void) => {
      if (channel === null) return () => {};
      const sub = acquire(client, channel);
      const offs = [sub.on('state', notify), sub.on('subscribed', notify), sub.on('error', notify)];
      return () => {
        for (const off of offs) off();
        release(sub);
      };
    },
    [client, channel],
  );
  const snapshot = () => snapshotOf(channel === null ? undefined : client.getSubscription(channel));
  const state = useSyncExternalStore(subscribe, snapshot, snapshot);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `deps` are the caller's, exactly like useEffect's
  useEffect(() => {
    if (channel === null || !handler) return;
    const sub = acquire(client, channel);
    const off = sub.on('event', handler);
    return () => {
      off();
      release(sub);
    };
  }, [client, channel, ...deps]);
  return state;
}

/**
 * Calls `handler` with the payload of each `eventType` event of `channel`.
 *
 * @example
 * useEvent(`tenant:${tenantId}:updates`, 'user.deleted', ({ id }) => removeRow(id), []);
 */
export function useEvent(
  channel: string | null,
  eventType: string,
  handler: (payload: unknown, event: RealtimeEvent) => void,
  deps: DependencyList = [],
): SubscriptionSnapshot {
  // biome-ignore lint/correctness/useExhaustiveDependencies: `deps` are the caller's, exactly like useEffect's
  const filtered = useCallback(
    (event: RealtimeEvent) => {
      if (event.event_type === eventType) handler(event.payload, event);
    },
    [eventType, ...deps],
  );
  return useSubscription(channel, filtered, [filtered]);
}

/**
 * The latest event of `channel` (of `eventType` when given), or undefined
 * before the first; re-renders on each.
 *
 * @example
 * const last = useLatestEvent(`user:${userId}:notifications`, 'notification.new');
 * return last ? <Toast text={last.payload.text} /> : null;
 */
export function useLatestEvent(channel: string | null, eventType?: string): RealtimeEvent | undefined {
  const [latest, setLatest] = useState<RealtimeEvent | undefined>(undefined);
  useSubscription(
    channel,
    (event) => {
      if (eventType === undefined || event.event_type === eventType) setLatest(event);
    },
    [eventType],
  );
  // After a channel switch, the previous channel's event is not this one's latest.
  return latest?.channel === channel ? latest : undefined;
}

/** The hooks above, typed by the app's event map. */
export interface RealtimeHooks<M extends EventMap> {
  useRealtime(): AlbatrossClient<M>;
  useConnectionState(): ConnectionSnapshot;
  useSubscription<C extends KnownChannel<M>>(
    channel: C | null,
    handler?: (event: EventOf<ChannelEvents<M, C>>) => void,
    deps?: DependencyList,
  ): SubscriptionSnapshot;
  useEvent<C extends KnownChannel<M>, T extends keyof ChannelEvents<M, C> & string>(
    channel: C | null,
    eventType: T,
    handler: (payload: ChannelEvents<M, C>[T], event: RealtimeEvent<T, ChannelEvents<M, C>[T]>) => void,
    deps?: DependencyList,
  ): SubscriptionSnapshot;
  useLatestEvent<C extends KnownChannel<M>, T extends keyof ChannelEvents<M, C> & string>(
    channel: C | null,
    eventType: T,
  ): RealtimeEvent<T, ChannelEvents<M, C>[T]> | undefined;
  useLatestEvent<C extends KnownChannel<M>>(channel: C | null): EventOf<ChannelEvents<M, C>> | undefined;
}

/**
 * The hooks typed by the app's event map: declare it once, get typed
 * channels, event types and payloads everywhere.
 *
 * @example
 * export const { useEvent, useSubscription } = createRealtimeHooks<AppEvents>();
 * useEvent(`tenant:${t}:updates`, 'user.created', (user) => add(user.name), []); // user is typed
 */
export function createRealtimeHooks<M extends EventMap>(): RealtimeHooks<M> {
  return {
    useRealtime: useRealtime<M>,
    useConnectionState,
    useSubscription: useSubscription as RealtimeHooks<M>['useSubscription'],
    useEvent: useEvent as RealtimeHooks<M>['useEvent'],
    useLatestEvent: useLatestEvent as RealtimeHooks<M>['useLatestEvent'],
  };
}
