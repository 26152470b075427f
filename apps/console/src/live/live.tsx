import type { RealtimeEvent } from '@albatross/client';
import { useRealtime, useSubscription } from '@albatross/react';
import { type InvalidationRule, useRealtimeInvalidation } from '@albatross/react/query';
import { useIsFetching, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef, useState } from 'react';

/** How long a changed row stays highlighted, ms. */
export const HIGHLIGHT_MS = 2000;

/** The `id` of an event's payload, when it has one. */
export function payloadId(event: RealtimeEvent | undefined): string | null {
  const payload = event?.payload as { id?: unknown } | undefined;
  return typeof payload?.id === 'string' ? payload.id : null;
}

/**
 * Keeps a view live: subscribes `channel` (null: none, e.g. before the
 * profile is known), invalidates the rules' query keys on its events and on
 * `stale`, and returns the ids of rows changed in the last
 * {@link HIGHLIGHT_MS} so the view can highlight them.
 */
export function useLiveView(channel: string | null, rules: readonly InvalidationRule[]): ReadonlySet<string> {
  const [changed, setChanged] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useRealtimeInvalidation(rules);
  useSubscription(
    channel,
    (event) => {
      const id = payloadId(event);
      if (!id) return;
      setChanged((prev) => new Set(prev).add(id));
      const previous = timers.current.get(id);
      if (previous) clearTimeout(previous);
      timers.current.set(
        id,
        setTimeout(() => {
          timers.current.delete(id);
          setChanged((prev) => {
            const next = new Set(prev);
            next.delete(id);
            return next;
          });
        }, HIGHLIGHT_MS),
      );
    },
    [],
  );
  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    };
  }, []);
  return changed;
}

/**
 * The honest banner: while the connection is down the data may be out of
 * date; after a reconnect, or a `stale` channel (a gap the server could not
 * replay), every active query is refetched and the banner says so until the
 * refetch is done.
 */
export function RefreshingBanner(): ReactNode {
  const client = useRealtime();
  const queryClient = useQueryClient();
  const fetching = useIsFetching();
  const [offline, setOffline] = useState(false);
  const [refreshing, setRefreshing] = useState(false);
  const wasConnected = useRef(false);
  useEffect(() => {
    // The client may have connected before this effect ran (its `connected` event then went unheard).
    if (client.state === 'connected') wasConnected.current = true;
    const offs = [
      client.on('state', ({ new: state }) => {
        if (state === 'connected') return;
        if (wasConnected.current) setOffline(true);
      }),
      client.on('connected', () => {
        if (wasConnected.current) {
          // Events may have been missed while down (even when the channels recover, the
          // HTTP reads taken meanwhile can be older): refetch whatever is on screen.
          setRefreshing(true);
          void queryClient.invalidateQueries({ refetchType: 'active' });
        }
        wasConnected.current = true;
        setOffline(false);
      }),
      client.on('stale', () => setRefreshing(true)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }, [client, queryClient]);
  useEffect(() => {
    if (!refreshing || fetching > 0) return;
    // Keep the banner up a beat so it is perceivable, then clear it once nothing is fetching.
    const timer = setTimeout(() => setRefreshing(false), 400);
    return () => clearTimeout(timer);
  }, [refreshing, fetching]);
  const text = offline ? 'Reconnecting… the data shown may be out of date.' : refreshing ? 'Refreshing data…' : null;
  return (
    <div
      role="status"
      aria-live="polite"
      data-testid="refresh-banner"
      data-state={offline ? 'offline' : refreshing ? 'refreshing' : 'idle'}
    >
      {text ? <p className="bg-amber-100 px-4 py-2 text-center text-sm text-amber-950">{text}</p> : null}
    </div>
  );
}
