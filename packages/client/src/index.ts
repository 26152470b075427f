/**
 * `@albatross/client`: the framework-free Albatross SDK for browsers and Node.
 *
 * @example
 * import { createClient } from '@albatross/client';
 * const client = createClient({ url: 'wss://rt.example.com/ws', getToken });
 * client.connect();
 * client.subscribe(`tenant:${tenantId}:updates`).on('event', (event) => render(event));
 */

export { backoffDelay } from './backoff.js';
export {
  AlbatrossClient,
  type ClientEvents,
  type ClientOptions,
  type ConnectionSnapshot,
  ConnectionState,
  createClient,
  type SignalSource,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client.js';
export { describe as describeError, type WarnFunction } from './dev-warn.js';
export type { Unsubscribe } from './emitter.js';
export { AlbatrossClientError, type ClientErrorCode, UnauthorizedError } from './errors.js';
export {
  type StaleEvent,
  Subscription,
  type SubscriptionEvents,
  SubscriptionState,
} from './subscription.js';
export type {
  ChannelEvents,
  ChannelPattern,
  EventMap,
  EventMapFromSchemas,
  EventOf,
  InferPayload,
  KnownChannel,
  RealtimeEvent,
} from './types.js';
