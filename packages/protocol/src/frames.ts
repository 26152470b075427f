import type { ErrorCode } from './codes.js';

/** Protocol version this package implements. */
export const PROTOCOL_VERSION = 1;

/** Any JSON value, as carried in `payload`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A channel's position: its latest offset in its current epoch. */
export interface StreamPosition {
  /** Offsets start at 1 in each epoch; 0 means nothing published yet in this epoch. */
  offset: number;
  /** Changes whenever the channel's history is reset. */
  epoch: string;
}

/** Optional metadata a publisher attaches to a publication. */
export interface EventMeta {
  user_id?: string;
  source?: string;
  correlation_id?: string;
  changed_fields?: string[];
  [key: string]: JsonValue | undefined;
}

// ---------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------

/** First-frame authentication, or an in-band token refresh on a live connection. */
export interface AuthFrame {
  type: 'auth';
  token: string;
  id?: number;
}

/** A channel to subscribe, optionally resuming after a known position. */
export interface SubscribeRequest {
  channel: string;
  since?: StreamPosition;
}

export interface SubscribeFrame {
  type: 'subscribe';
  id: number;
  channels: Array<string | SubscribeRequest>;
}

export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id: number;
  channels: string[];
}

export interface PingFrame {
  type: 'ping';
  id?: number;
}

/** Every frame a client may send, keyed by `type`. */
export interface ClientFrameMap {
  auth: AuthFrame;
  subscribe: SubscribeFrame;
  unsubscribe: UnsubscribeFrame;
  ping: PingFrame;
}
export type ClientFrameType = keyof ClientFrameMap;
export type ClientFrame = ClientFrameMap[ClientFrameType];

// ---------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------

/** A subscription with its channel's current position. */
export interface SubscriptionPosition extends StreamPosition {
  channel: string;
}

export interface WelcomeFrame {
  type: 'welcome';
  connection_id: string;
  user_id: string;
  tenant_id: string;
  heartbeat_ms: number;
  subscriptions: SubscriptionPosition[];
}

export interface AcceptedSubscription extends SubscriptionPosition {
  /** Present only when the request carried `since`. */
  recovered?: boolean;
}

export interface RejectedSubscription {
  channel: string;
  code: ErrorCode;
  message: string;
}

export interface SubscribeAckFrame {
  type: 'ack';
  id: number;
  accepted: AcceptedSubscription[];
  rejected: RejectedSubscription[];
}

export interface UnsubscribeAckFrame {
  type: 'ack';
  id: number;
  removed: string[];
  missing: string[];
}

export interface AuthAckFrame {
  type: 'ack';
  id?: number;
  refreshed: true;
  /** The new token's `exp` (seconds since the Unix epoch), when it has one. */
  exp?: number;
}

export type AckFrame = SubscribeAckFrame | UnsubscribeAckFrame | AuthAckFrame;

/** One publication on one channel. */
export interface EventFrame {
  type: 'event';
  channel: string;
  offset: number;
  epoch: string;
  event_type: string;
  /** Server publish time, ms since the Unix epoch. */
  ts: number;
  payload: JsonValue;
  meta?: EventMeta;
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  id?: number;
  /** With RATE_LIMITED: ms until the next frame would be accepted. */
  retry_after_ms?: number;
  /** The channel concerned, when there is one (a subscription removed after a token refresh). */
  channel?: string;
}

export interface PongFrame {
  type: 'pong';
  id?: number;
}

export interface HeartbeatFrame {
  type: 'heartbeat';
  ts: number;
}

/**
 * "What came before `offset` on this channel is lost: refetch." Sent before the
 * next event when the server detects a gap it cannot fill.
 */
export interface GapFrame {
  type: 'gap';
  channel: string;
  epoch: string;
  /** Offset of the next event on the channel. */
  offset: number;
}

/** Every frame the server may send, keyed by `type`. */
export interface ServerFrameMap {
  welcome: WelcomeFrame;
  ack: AckFrame;
  event: EventFrame;
  error: ErrorFrame;
  pong: PongFrame;
  heartbeat: HeartbeatFrame;
  gap: GapFrame;
}
export type ServerFrameType = keyof ServerFrameMap;
export type ServerFrame = ServerFrameMap[ServerFrameType];

/** Compile-time exhaustiveness guard for switches over tagged unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
