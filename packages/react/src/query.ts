import type { AlbatrossClient, RealtimeEvent } from '@albatross/client';
import { type QueryClient, type QueryKey, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { useRealtime } from './context.js';

/** What a rule's `queryKey` function is given. */
export interface RuleContext {
  /** The `{name}` segments of the rule's channel pattern, e.g. `{ tenantId: 't1' }`. */
  params: Record<string, string>;
  channel: string;
  /** The event, or undefined when the channel went stale (then every mapped key is refreshed). */
  event: RealtimeEvent | undefined;
}

/**
 * Maps a channel (pattern) and event types to a query key.
 *
 * @example
 * const rules: InvalidationRule[] = [
 *   { channel: 'tenant:{tenantId}:updates', events: ['user.created', 'user.deleted'],
 *     queryKey: ({ params }) => ['users', params.tenantId] },
 *   { channel: 'tenant:{tenantId}:updates', events: ['user.updated'],
 *     queryKey: ({ params, event }) => ['user', params.tenantId, (event?.payload as User | undefined)?.id ?? null],
 *     update: (_old, event) => event.payload }, // patch mode: the event carries the whole entity
 * ];
 */
export interface InvalidationRule {
  /** Channel name, or pattern where `{name}` matches one segment. */
  channel: string;
  /** Event types that refresh the key (default: every type). */
  events?: readonly string[];
  /** The key to refresh; a function may return null to skip. */
  queryKey: QueryKey | ((context: RuleContext) => QueryKey | null);
  /**
   * Patch mode: write the event into the cached data instead of refetching
   * (`setQueryData`). Returning undefined falls back to invalidation. A stale
   * channel is always refetched.
   */
  update?: (previous: unknown, event: RealtimeEvent) => unknown;
}

/** The `{name}` params of `channel` under `pattern`, or null when it does not match. */
export function matchChannel(pattern: string, channel: string): Record<string, string> | null {
  const want = pattern.split(':');
  const got = channel.split(':');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] ?? '';
    const value = got[i] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) params[segment.slice(1, -1)] = value;
    else if (segment !== value) return null;
  }
  return params;
}

function keyOf(rule: InvalidationRule, context: RuleContext): QueryKey | null {
  return typeof rule.queryKey === 'function' ? rule.queryKey(context) : rule.queryKey;
}

function bind(client: AlbatrossClient, queryClient: QueryClient, rules: () => readonly InvalidationRule[]): () => void {
  const offEvent = client.on('event', (event) => {
    for (const rule of rules()) {
      if (rule.events && !rule.events.includes(event.event_type)) continue;
      const params = matchChannel(rule.channel, event.channel);
      if (!params) continue;
      const queryKey = keyOf(rule, { params, channel: event.channel, event });
      if (!queryKey) continue;
      const { update } = rule;
      let patched = false;
      if (update && queryClient.getQueryData(queryKey) !== undefined) {
        queryClient.setQueryData(queryKey, (previous: unknown) => {
          const next = update(previous, event);
          patched = next !== undefined;
          return next === undefined ? previous : next;
        });
      }
      if (!patched) void queryClient.invalidateQueries({ queryKey });
    }
  });
  const offStale = client.on('stale', ({ channel }) => {
    // Something was missed for good: refetch every key this channel feeds, whatever the event type.
    const seen = new Set<string>();
    for (const rule of rules()) {
      const params = matchChannel(rule.channel, channel);
      if (!params) continue;
      const queryKey = keyOf(rule, { params, channel, event: undefined });
      if (!queryKey) continue;
      const id = JSON.stringify(queryKey);
      if (seen.has(id)) continue;
      seen.add(id);
      void queryClient.invalidateQueries({ queryKey });
    }
  });
  return () => {
    offEvent();
    offStale();
  };
}

/**
 * Keeps a TanStack Query cache in step with realtime events: each event
 * invalidates (or patches) the keys its rules map it to, and a `stale`
 * channel (an outage the server could not replay) invalidates every key the
 * channel maps to. Returns a function that unbinds. The rules' channels must
 * be subscribed (the user and tenant baseline channels always are).
 *
 * @example
 * const unbind = bindQueryClient(client, queryClient, [
 *   { channel: 'tenant:{tenantId}:updates', events: ['user.created'], queryKey: ({ params }) => ['users', params.tenantId] },
 * ]);
 */
export function bindQueryClient(
  client: AlbatrossClient<never> | AlbatrossClient,
  queryClient: QueryClient,
  rules: readonly InvalidationRule[],
): () => void {
  return bind(client as AlbatrossClient, queryClient, () => rules);
}

/**
 * {@link bindQueryClient} for the provider's client and the nearest
 * `QueryClientProvider`, for as long as the component is mounted. The rules
 * may change between renders.
 *
 * @example
 * useRealtimeInvalidation([
 *   { channel: 'tenant:{tenantId}:updates', events: ['user.created'], queryKey: ({ params }) => ['users', params.tenantId] },
 * ]);
 */
export function useRealtimeInvalidation(rules: readonly InvalidationRule[]): void {
  const client = useRealtime();
  const queryClient = useQueryClient();
  const current = useRef(rules);
  useEffect(() => {
    current.current = rules;
  });
  useEffect(() => bind(client, queryClient, () => current.current), [client, queryClient]);
}
