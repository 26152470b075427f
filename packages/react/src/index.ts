/**
 * `@albatross/react`: React bindings for `@albatross/client`, built on
 * `useSyncExternalStore`. TanStack Query helpers live in `@albatross/react/query`.
 *
 * @example
 * <RealtimeProvider client={client}>
 *   <ConnectionIndicator defaultStyle />
 *   <App />
 * </RealtimeProvider>
 */

export { RealtimeProvider, type RealtimeProviderProps, useRealtime } from './context.js';
export {
  createRealtimeHooks,
  type RealtimeHooks,
  type SubscriptionSnapshot,
  useConnectionState,
  useEvent,
  useLatestEvent,
  useSubscription,
} from './hooks.js';
export { ConnectionIndicator, type ConnectionIndicatorProps, INDICATOR_COLORS } from './indicator.js';
