import { randomUUID } from 'node:crypto';
import {
  type AcceptedSubscription,
  type AuthFrame,
  type ClientFrame,
  CloseCode,
  ErrorCode,
  type ErrorFrame,
  encodeFrame,
  isValidChannel,
  type RejectedSubscription,
  type ServerFrame,
  type StreamPosition,
  type SubscribeFrame,
  type UnsubscribeFrame,
} from '@albatross/protocol';
import { parseClientFrame } from '@albatross/protocol/validate';
import { type RawData, WebSocket } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import { JWT_LEEWAY_SECONDS } from '../auth/jwt.js';
import type { Broker, BrokerPublication } from '../broker/types.js';
import { type ChannelPolicy, expandBaseline } from '../channels/policy.js';
import type { Rate } from '../config/rate.js';
import { AlbatrossError, toAlbatrossError } from '../errors.js';
import type { Hub } from '../fanout/hub.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { Coalescer, Outbox, WritableSocket } from '../outbound/coalescer.js';
import { textFrame } from '../outbound/frame.js';
import type { AdmissionTicket } from './admission.js';
import type { DeadlineQueue, Scheduled } from './deadlines.js';
import { Subscription, type SubscriptionOwner } from './subscription.js';

/** Settings a connection runs under. */
export interface ConnectionSettings {
  readonly heartbeatMs: number;
  readonly authTimeoutMs: number;
  readonly baseline: readonly string[];
  readonly maxSubscriptions: number;
  /**
   * Outbound budget: bytes queued on the socket plus live events held back
   * while a recovery replays; a connection over it is closed 4009.
   */
  readonly slowConsumerBytes: number;
  /** Longest the replays of one subscribe (or of the baseline) may take; past it the connection is closed 4009. */
  readonly maxReplayMs: number;
  /** How long a close handshake may take before the socket is destroyed. */
  readonly closeTimeoutMs: number;
  /** Client frame rate limit (every frame counts); null disables it. */
  readonly rateLimit: Rate | null;
}

/**
 * The gateway's shared timers for its connections' deadlines: one timer per
 * kind for the whole node instead of one per connection. A connection waits
 * in at most one of them at a time (for its auth frame, then for its
 * credential's expiry).
 */
export interface ConnectionDeadlines {
  /** Auth-frame timeouts, on a monotonic clock (ms). */
  readonly auth: DeadlineQueue<Connection>;
  /** Credential expiries, on the wall clock (ms since the Unix epoch, like `exp`). */
  readonly expiry: DeadlineQueue<Connection>;
}

/**
 * The `WebSocket` class the gateway's server makes: `ws`'s own, with a slot
 * for its connection, so the handlers of its events are functions made once
 * for the process (`this` is the socket) instead of closures made per
 * connection (issue 14, item 5).
 */
export class ConnectionSocket extends WebSocket {
  connection: Connection | null = null;
}

// `ws` types a listener's `this` as its base class; the gateway's server only
// makes ConnectionSockets, and a connection registers these on its own socket.
function connectionOf(ws: WebSocket): Connection | null {
  return (ws as ConnectionSocket).connection;
}

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  connectionOf(this)?.received(data as Buffer, isBinary);
}

function onSocketPong(this: WebSocket): void {
  const connection = connectionOf(this);
  if (connection) connection.lastSeen = Date.now();
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  connectionOf(this)?.socketClosed(code, reason.toString());
}

function onSocketError(this: WebSocket, error: Error): void {
  connectionOf(this)?.socketFailed(error);
}

/** What a connection needs from its gateway. */
export interface ConnectionContext {
  readonly authenticator: Authenticator;
  readonly policy: ChannelPolicy;
  readonly hub: Hub;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly settings: ConnectionSettings;
  readonly metrics: GatewayMetrics;
  readonly deadlines: ConnectionDeadlines;
  /** Write coalescing for sockets without extensions; null sends every frame through `ws` at once. */
  readonly coalescer: Coalescer | null;
  /** Counts the connection against the connection limits; rejects with CONNECTION_LIMIT. */
  admit(connection: Connection, identity: Identity): Promise<void>;
  onAuthenticated(connection: Connection): void;
  onClosed(connection: Connection, code: number, reason: string): void;
}

export type ConnectionState = 'authenticating' | 'open' | 'closed';

/** Close reason of a 1001: when the client should come back (docs/protocol.md). */
export function goingAwayReason(reconnectAfterMs: number): string {
  return JSON.stringify({ reconnect_after_ms: Math.max(0, Math.round(reconnectAfterMs)) });
}

// How long a client is told to wait before reconnecting after a server-side failure.
const RETRY_AFTER_FAILURE_MS = 1000;

// Frames queued while earlier ones are still being processed. Past the high
// mark the socket stops being read (TCP backpressure on the client) until
// the queue is down to the low mark, so one client cannot flood the process.
const PENDING_HIGH = 32;
const PENDING_LOW = 8;
// How often a paced replay looks whether the peer has read enough.
const DRAIN_POLL_MS = 5;

const RESOLVED: Promise<void> = Promise.resolve();

/** A connection's view of the gateway logger: its ids merged into each line (see {@link Connection.logger}). */
class ConnectionLogger implements Logger {
  constructor(
    private readonly base: Logger,
    private readonly connection: { logBindings(): Record<string, unknown> },
  ) {}
  // A line below the logger's level is not even built (two objects per line, on every connect and close).
  debug(obj: object, msg?: string): void {
    if (this.base.isLevelEnabled?.('debug') === false) return;
    this.base.debug({ ...this.connection.logBindings(), ...obj }, msg);
  }
  info(obj: object, msg?: string): void {
    if (this.base.isLevelEnabled?.('info') === false) return;
    this.base.info({ ...this.connection.logBindings(), ...obj }, msg);
  }
  warn(obj: object, msg?: string): void {
    if (this.base.isLevelEnabled?.('warn') === false) return;
    this.base.warn({ ...this.connection.logBindings(), ...obj }, msg);
  }
  error(obj: object, msg?: string): void {
    if (this.base.isLevelEnabled?.('error') === false) return;
    this.base.error({ ...this.connection.logBindings(), ...obj }, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return this.base.child({ ...this.connection.logBindings(), ...bindings });
  }
}

/**
 * One WebSocket client: authentication, its subscriptions, and every frame
 * it sends or receives. Client frames are handled one at a time, in order.
 * Nothing on the event paths throws: failures become `error` frames or a
 * close with a documented code.
 */
export class Connection implements SubscriptionOwner, Scheduled {
  readonly id = randomUUID();
  readonly connectedAt = Date.now();
  state: ConnectionState = 'authenticating';
  identity: Identity | null = null;
  /** First of the channels held, in subscription order (a list through `Subscription.next`). */
  private firstSubscription: Subscription | null = null;
  /** Number of channels held. */
  subscriptionCount = 0;
  /** Set once the connection is counted against the connection limits (released on close). */
  admitted = false;
  /** The connection's hold on the connection limits, released when it has closed (set by the gateway). */
  ticket: AdmissionTicket | null = null;
  /** @internal Bookkeeping of {@link ConnectionDeadlines}: when the auth timeout or the expiry is due. */
  deadlineAt = 0;
  /** @internal Bookkeeping of {@link ConnectionDeadlines}. */
  deadlineSlot = -1;
  /** Last time anything arrived from the peer (frame or pong), for idle detection. */
  lastSeen = Date.now();
  /**
   * Logger with this connection's ids (and tenant and user once
   * authenticated). A thin view that adds the ids to each line, made on
   * use and not kept: a connection logs a handful of times in its life, a
   * child logger per connection is memory for nothing when it idles (issue
   * 14, item 5), and pino redacts a child's bindings when it is made, which
   * cost every connect a few percent even at levels that log nothing.
   */
  get logger(): Logger {
    return new ConnectionLogger(this.ctx.logger, this);
  }

  /** The ids every line about this connection carries. */
  logBindings(): Record<string, unknown> {
    const identity = this.identity;
    return identity
      ? { connection_id: this.id, tenant_id: identity.tenantId, user_id: identity.userId }
      : { connection_id: this.id };
  }
  /** True once `welcome` is sent: heartbeats and events only follow it. */
  welcomed = false;
  /** The inbound rate limit; made on the first frame (a full bucket either way), none while idle. */
  private bucket: TokenBucket | null = null;
  /**
   * Where frames go: pre-built frames are queued and written once per
   * event-loop turn. Null when the socket negotiated an extension
   * (permessage-deflate frames must be built by `ws` itself).
   */
  private readonly outbox: Outbox | null;
  private limitedInARow = 0;
  /** Set once the rate limit decided to close: later frames are not even read. */
  private overLimit = false;
  /** Bytes of live publications held back by subscriptions that are not live yet (counted against the budget). */
  private heldBytes = 0;
  // Back to the shared resolved promise whenever the queue empties: an idle
  // connection keeps no promise of its own.
  private queue: Promise<void> = RESOLVED;
  private pending = 0;
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: ConnectionSocket,
    private readonly ctx: ConnectionContext,
    preauthenticated: Identity | null,
  ) {
    // `_socket` is ws's own field for the underlying net.Socket (not in its typings).
    const socket = (ws as unknown as { _socket?: WritableSocket })._socket;
    this.outbox = ctx.coalescer && socket && ws.extensions === '' ? ctx.coalescer.outbox(socket) : null;
    ws.connection = this;
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    ws.on('close', onSocketClose);
    ws.on('error', onSocketError);
    if (preauthenticated) {
      this.enqueue(() => this.authenticated(preauthenticated));
    } else {
      ctx.deadlines.auth.schedule(this, performance.now() + ctx.settings.authTimeoutMs);
    }
  }

  /** @internal The auth frame did not come in time (called by {@link ConnectionDeadlines.auth}). */
  authTimedOut(): void {
    if (this.state !== 'authenticating') return;
    this.sendError(ErrorCode.UNAUTHORIZED, 'authentication timeout: send an auth frame first');
    this.close(CloseCode.UNAUTHORIZED, 'UNAUTHORIZED');
  }

  /** @internal The credential's expiry (plus leeway) passed (called by {@link ConnectionDeadlines.expiry}). */
  expiryReached(): void {
    if (this.state === 'closed') return;
    this.sendError(ErrorCode.TOKEN_EXPIRED, 'token expired: send a fresh token in an auth frame before exp');
    this.close(CloseCode.UNAUTHORIZED, ErrorCode.TOKEN_EXPIRED);
  }

  /** @internal The socket failed (`ws`'s `error` event). */
  socketFailed(error: Error): void {
    this.logger.warn({ err: error }, 'socket error');
    // ws has already sent its own close frame (1007, 1009) or lost the
    // socket: nothing queued may follow it.
    this.outbox?.discard();
    this.close(CloseCode.INTERNAL_ERROR, 'socket error');
  }

  /** The held subscription of `channel`, if any. */
  private subscriptionOf(channel: string): Subscription | undefined {
    for (let s = this.firstSubscription; s !== null; s = s.next) if (s.channel === channel) return s;
    return undefined;
  }

  /** The channels held, in subscription order. */
  channels(): string[] {
    const out: string[] = [];
    for (let s = this.firstSubscription; s !== null; s = s.next) out.push(s.channel);
    return out;
  }

  /** Bytes queued on the socket, not yet written to the kernel. */
  get bufferedAmount(): number {
    return this.outbox ? this.outbox.bufferedAmount : this.ws.bufferedAmount;
  }

  /**
   * What the connection holds for a peer that has not read it: bytes on the
   * socket (without the frames of this turn, which leave at its end: a burst
   * bounded by what the publisher produced in one turn) plus live events
   * held back while a recovery replays. Without an outbox (permessage-deflate)
   * `ws` counts frames still being compressed too.
   */
  private get held(): number {
    return (this.outbox ? this.outbox.backlog : this.ws.bufferedAmount) + this.heldBytes;
  }

  /** Whether `held` is over the slow-consumer budget; reads the socket only when its cheap upper bound is. */
  private overBudget(): boolean {
    const budget = this.ctx.settings.slowConsumerBytes;
    if (this.outbox && this.outbox.backlogBound + this.heldBytes <= budget) return false;
    return this.held > budget;
  }

  // --- inbound -------------------------------------------------------------

  /** @internal A frame from the peer (`ws`'s `message` event). */
  received(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    this.lastSeen = Date.now();
    this.ctx.metrics.bytesIn += data.length;
    if (this.overLimit) return;
    const rate = this.ctx.settings.rateLimit;
    if (rate && this.bucket === null) this.bucket = new TokenBucket(rate);
    if (this.bucket && !this.bucket.take()) {
      this.rateLimited(isBinary ? undefined : frameIdOf(data));
      return;
    }
    this.limitedInARow = 0;
    if (isBinary) {
      this.ctx.metrics.frameIn('binary');
      this.enqueue(async () => {
        this.sendError(ErrorCode.INVALID_MESSAGE, 'binary frames are not supported');
        // Like any other non-auth first frame, a binary one ends an unauthenticated connection.
        if (this.state === 'authenticating') this.close(CloseCode.UNAUTHORIZED, 'UNAUTHORIZED');
      });
      return;
    }
    const text = data.toString('utf8');
    this.enqueue(() => this.handle(text));
  }

  /**
   * Answers a frame over the rate limit; the 2×burst-th refused frame in a
   * row is answered and then the connection is closed 4008.
   */
  private rateLimited(id: number | undefined): void {
    this.ctx.metrics.rateLimited.inc();
    this.limitedInARow += 1;
    const burst = this.ctx.settings.rateLimit?.burst ?? 0;
    const close = this.limitedInARow >= 2 * burst;
    if (close) this.overLimit = true;
    const frame: ErrorFrame = {
      type: 'error',
      code: ErrorCode.RATE_LIMITED,
      message: 'too many frames: slow down',
      retry_after_ms: this.bucket?.retryAfterMs() ?? 0,
    };
    if (id !== undefined) frame.id = id;
    // Answered in order with the frames before it, like every other answer.
    this.enqueue(async () => {
      this.sendFrame(frame);
      if (close) this.close(CloseCode.POLICY_VIOLATION, ErrorCode.RATE_LIMITED);
    });
  }

  private enqueue(task: () => Promise<void>): void {
    this.pending += 1;
    if (this.pending >= PENDING_HIGH && !this.ws.isPaused) this.ws.pause();
    this.queue = this.queue.then(() => this.run(task));
  }

  /** Runs one queued task (one promise per frame, where `.then().catch().finally()` made three). */
  private async run(task: () => Promise<void>): Promise<void> {
    try {
      if (this.state !== 'closed') await task();
    } catch (error) {
      const normalised = toAlbatrossError(error);
      if (normalised.code === ErrorCode.INTERNAL) this.logger.error({ err: error }, 'frame handling failed');
      this.sendError(normalised.code, normalised.message);
    } finally {
      this.pending -= 1;
      if (this.pending === 0) this.queue = RESOLVED;
      if (this.pending <= PENDING_LOW && this.ws.isPaused && this.state !== 'closed') this.ws.resume();
    }
  }

  private async handle(text: string): Promise<void> {
    const parsed = parseClientFrame(text);
    this.ctx.metrics.frameIn(parsed.ok ? parsed.frame.type : 'invalid');
    if (!parsed.ok) {
      this.sendError(parsed.code, parsed.message, parsed.id);
      if (this.state === 'authenticating') this.close(CloseCode.UNAUTHORIZED, 'UNAUTHORIZED');
      return;
    }
    const frame = parsed.frame;
    if (this.state === 'authenticating' && frame.type !== 'auth') {
      this.sendError(ErrorCode.UNAUTHORIZED, 'the first frame must be auth', frame.id);
      this.close(CloseCode.UNAUTHORIZED, 'UNAUTHORIZED');
      return;
    }
    await this.dispatch(frame);
  }

  private async dispatch(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'auth':
        return this.handleAuth(frame);
      case 'subscribe':
        return this.handleSubscribe(frame);
      case 'unsubscribe':
        return this.handleUnsubscribe(frame);
      case 'ping':
        this.sendFrame(frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id });
        return;
      default: {
        const unexpected: never = frame;
        throw new AlbatrossError(ErrorCode.UNKNOWN_TYPE, `unknown frame ${JSON.stringify(unexpected)}`);
      }
    }
  }

  // --- authentication ------------------------------------------------------

  private async handleAuth(frame: AuthFrame): Promise<void> {
    let identity: Identity;
    try {
      identity = await this.ctx.authenticator.authenticate(frame.token);
    } catch (error) {
      const normalised = toAlbatrossError(error);
      this.ctx.metrics.authFailures.inc({ reason: normalised.code });
      this.sendError(normalised.code, normalised.message, frame.id);
      // A failed first-frame auth closes; a failed refresh leaves the live connection as it was.
      if (this.state === 'authenticating') {
        if (normalised.code === ErrorCode.UNAVAILABLE) {
          // Our verifier is down, not the client's token: come back later, same token.
          this.close(CloseCode.GOING_AWAY, goingAwayReason(RETRY_AFTER_FAILURE_MS));
        } else {
          this.close(CloseCode.UNAUTHORIZED, normalised.code);
        }
      }
      return;
    }
    if (this.state === 'closed') return;
    if (this.state === 'authenticating') return this.authenticated(identity);
    const current = this.identity;
    if (!current || current.userId !== identity.userId || current.tenantId !== identity.tenantId) {
      this.sendError(ErrorCode.FORBIDDEN, 'a refreshed token must name the same user and tenant', frame.id);
      return;
    }
    // Revoked while its verification was in flight: refused like at connect; the connection keeps its credential.
    if (this.ctx.authenticator.isRevoked(identity)) {
      this.ctx.metrics.authFailures.inc({ reason: ErrorCode.FORBIDDEN });
      this.sendError(ErrorCode.FORBIDDEN, 'credential revoked', frame.id);
      return;
    }
    this.identity = identity;
    this.armExpiry(identity);
    await this.reauthorize(identity);
    if (this.state !== 'open') return;
    this.sendFrame({
      type: 'ack',
      ...(frame.id === undefined ? {} : { id: frame.id }),
      refreshed: true,
      ...(identity.exp === undefined ? {} : { exp: identity.exp }),
    });
  }

  /**
   * After a refresh the new credential decides: a held channel it no longer
   * allows (a role or a `channels` entry dropped) is removed, and the client
   * is told with an `error FORBIDDEN` naming the channel.
   */
  private async reauthorize(identity: Identity): Promise<void> {
    for (const channel of this.channels()) {
      try {
        await this.ctx.policy.authorize(identity, channel);
      } catch (error) {
        const normalised = toAlbatrossError(error);
        if (normalised.code === ErrorCode.UNAVAILABLE) continue; // cannot tell now: keep it
        this.drop(channel);
        this.sendFrame({
          type: 'error',
          code: ErrorCode.FORBIDDEN,
          message: `subscription removed: the refreshed credential does not allow ${channel}`,
          channel,
        });
      }
    }
  }

  private async authenticated(identity: Identity): Promise<void> {
    this.ctx.deadlines.auth.cancel(this);
    if (!this.admitted) {
      try {
        await this.ctx.admit(this, identity);
      } catch (error) {
        const normalised = toAlbatrossError(error);
        this.sendError(normalised.code, normalised.message);
        if (normalised.code === ErrorCode.CONNECTION_LIMIT) this.close(CloseCode.CONNECTION_LIMIT, normalised.code);
        else if (normalised.code === ErrorCode.FORBIDDEN) this.close(CloseCode.FORBIDDEN, normalised.code);
        else this.close(CloseCode.GOING_AWAY, goingAwayReason(RETRY_AFTER_FAILURE_MS));
        return;
      }
      if (this.state === 'closed') return;
    }
    this.identity = identity;
    this.state = 'open';
    this.armExpiry(identity);
    this.ctx.onAuthenticated(this);

    const wanted: string[] = [];
    for (const channel of expandBaseline(this.ctx.settings.baseline, identity)) {
      if (wanted.length >= this.ctx.settings.maxSubscriptions) break;
      try {
        await this.ctx.policy.authorize(identity, channel);
        wanted.push(channel);
      } catch (error) {
        this.logger.warn({ channel, code: toAlbatrossError(error).code }, 'baseline channel skipped');
      }
    }
    let attached: Array<{ subscription: Subscription; position: StreamPosition }>;
    try {
      attached = await Promise.all(wanted.map((channel) => this.attachWith(channel, undefined)));
    } catch (error) {
      const normalised = toAlbatrossError(error);
      this.logger.warn({ err: error }, 'baseline subscriptions failed');
      this.sendError(normalised.code, 'cannot subscribe baseline channels; reconnect later');
      this.close(CloseCode.GOING_AWAY, goingAwayReason(RETRY_AFTER_FAILURE_MS));
      return;
    }
    if (this.state !== 'open') return;
    this.sendFrame({
      type: 'welcome',
      connection_id: this.id,
      user_id: identity.userId,
      tenant_id: identity.tenantId,
      heartbeat_ms: this.ctx.settings.heartbeatMs,
      subscriptions: attached.map(({ subscription, position }) => ({
        channel: subscription.channel,
        offset: position.offset,
        epoch: position.epoch,
      })),
    });
    this.welcomed = true;
    const deadline = Date.now() + this.ctx.settings.maxReplayMs;
    for (const { subscription, position } of attached) await this.goLive(subscription, position, [], deadline);
    this.logger.info(
      { subscriptions: attached.length, credential: identity.credential.kind },
      'connection authenticated',
    );
  }

  /**
   * Closes the connection 4001 at the credential's `exp` plus the leeway
   * (at once when that has passed), through the gateway's shared expiry
   * timer; a refresh moves the deadline, a credential without `exp` clears it.
   */
  private armExpiry(identity: Identity): void {
    const expiries = this.ctx.deadlines.expiry;
    expiries.cancel(this);
    if (identity.exp === undefined) return;
    const deadline = (identity.exp + JWT_LEEWAY_SECONDS) * 1000;
    if (deadline - Date.now() > 0) expiries.schedule(this, deadline);
    else this.expiryReached();
  }

  // --- subscriptions -------------------------------------------------------

  /**
   * Takes (or re-takes) a channel and reads its position, or recovers from
   * `since`; the subscription buffers live publications until `goLive`.
   */
  private async attachWith(
    channel: string,
    since: StreamPosition | undefined,
  ): Promise<{
    subscription: Subscription;
    position: StreamPosition;
    recovered: boolean;
    replay: readonly BrokerPublication[];
  }> {
    let subscription = this.subscriptionOf(channel);
    const isNew = subscription === undefined;
    if (!subscription) {
      subscription = new Subscription(channel, this);
      this.append(subscription);
    } else if (since !== undefined) {
      // Buffer again until the new replay is out.
      this.heldBytes -= subscription.take(false).bytes;
    }
    try {
      if (isNew) {
        await this.ctx.hub.add(channel, subscription);
        // Closed while joining: release() ran before we were in the hub.
        if (this.state === 'closed') {
          this.ctx.hub.remove(channel, subscription);
          throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'connection closed');
        }
      }
      if (since === undefined) {
        const position = await this.ctx.broker.position(channel);
        return { subscription, position, recovered: false, replay: [] };
      }
      const recovery = await this.ctx.broker.recover(channel, since);
      return {
        subscription,
        position: recovery.position,
        recovered: recovery.recovered,
        replay: recovery.publications,
      };
    } catch (error) {
      if (isNew) {
        this.drop(channel);
      } else if (!subscription.live) {
        // A failed re-recovery: keep the channel, resume live delivery from where it was.
        this.flush(subscription);
      }
      throw error;
    }
  }

  /**
   * Sends the replay, then whatever was buffered meanwhile, then switches the
   * subscription to live. A long replay is paced by the socket (with or
   * without permessage-deflate): past half the outbound budget it waits for
   * the peer to read, so a recovering client is never cut off as a slow
   * consumer by its own replay. It is cut off (4009, and it resumes from its
   * last event) when it reads nothing within the close timeout, when the
   * replays of its subscribe are still running at `deadline`, or when the
   * live events held back meanwhile push it over the budget (see `deliver`).
   */
  private async goLive(
    subscription: Subscription,
    baseline: StreamPosition,
    replay: readonly BrokerPublication[],
    deadline: number,
  ): Promise<void> {
    if (subscription.live) return;
    subscription.epoch = baseline.epoch;
    subscription.lastOffset = baseline.offset;
    const pace = this.ctx.settings.slowConsumerBytes / 2;
    for (const publication of replay) {
      if (this.state !== 'open') return;
      if (this.bufferedAmount > pace && !(await this.drainBelow(pace, deadline))) {
        if (this.state === 'open') this.slowConsumer(this.held);
        return;
      }
      this.sendEvent(subscription, publication);
    }
    this.flush(subscription);
  }

  /**
   * Waits until at most `threshold` bytes are queued for the peer. False
   * once the connection closed, or when the peer did not read that far by
   * `deadline` or within the close timeout.
   */
  private async drainBelow(threshold: number, deadline: number): Promise<boolean> {
    const until = Math.min(deadline, Date.now() + this.ctx.settings.closeTimeoutMs);
    this.outbox?.flush();
    while (this.bufferedAmount > threshold) {
      if (this.state !== 'open' || Date.now() >= until) return false;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return this.state === 'open';
  }

  private flush(subscription: Subscription): void {
    const { publications, bytes } = subscription.take(true);
    this.heldBytes -= bytes;
    for (const publication of publications) this.sendEvent(subscription, publication);
  }

  /** Adds a subscription at the end of the list. */
  private append(subscription: Subscription): void {
    if (this.firstSubscription === null) {
      this.firstSubscription = subscription;
    } else {
      let last = this.firstSubscription;
      while (last.next !== null) last = last.next;
      last.next = subscription;
    }
    this.subscriptionCount += 1;
  }

  /** Removes a held channel (unsubscribe, re-authorization, failed subscribe); what it held back stops counting. */
  private drop(channel: string): boolean {
    let previous: Subscription | null = null;
    let subscription = this.firstSubscription;
    while (subscription !== null && subscription.channel !== channel) {
      previous = subscription;
      subscription = subscription.next;
    }
    if (subscription === null) return false;
    if (previous === null) this.firstSubscription = subscription.next;
    else previous.next = subscription.next;
    subscription.next = null;
    this.subscriptionCount -= 1;
    this.heldBytes -= subscription.take(true).bytes;
    this.ctx.hub.remove(channel, subscription);
    return true;
  }

  private async handleSubscribe(frame: SubscribeFrame): Promise<void> {
    const identity = this.identity;
    if (!identity) return;
    const rejected: RejectedSubscription[] = [];
    const wanted: Array<{ channel: string; since: StreamPosition | undefined }> = [];
    const seen = new Set<string>();
    let count = this.subscriptionCount;
    for (const entry of frame.channels) {
      const channel = typeof entry === 'string' ? entry : entry.channel;
      const since = typeof entry === 'string' ? undefined : entry.since;
      if (!isValidChannel(channel)) {
        rejected.push({ channel, code: ErrorCode.INVALID_MESSAGE, message: 'invalid channel name' });
        continue;
      }
      if (seen.has(channel)) {
        rejected.push({ channel, code: ErrorCode.INVALID_MESSAGE, message: 'channel named twice in one subscribe' });
        continue;
      }
      seen.add(channel);
      const held = this.subscriptionOf(channel) !== undefined;
      if (!held && count >= this.ctx.settings.maxSubscriptions) {
        rejected.push({
          channel,
          code: ErrorCode.SUBSCRIPTION_LIMIT,
          message: `at most ${this.ctx.settings.maxSubscriptions} subscriptions per connection`,
        });
        continue;
      }
      try {
        await this.ctx.policy.authorize(identity, channel);
      } catch (error) {
        const normalised = toAlbatrossError(error);
        rejected.push({ channel, code: normalised.code, message: normalised.message });
        continue;
      }
      if (!held) count += 1;
      wanted.push({ channel, since });
    }
    if (this.state !== 'open') return;

    const outcomes = await Promise.allSettled(wanted.map(({ channel, since }) => this.attachWith(channel, since)));
    if (this.state !== 'open') return;
    const accepted: AcceptedSubscription[] = [];
    const ready: Array<{ subscription: Subscription; baseline: StreamPosition; replay: readonly BrokerPublication[] }> =
      [];
    outcomes.forEach((outcome, index) => {
      const request = wanted[index];
      if (!request) return;
      if (outcome.status === 'rejected') {
        const normalised = toAlbatrossError(outcome.reason);
        rejected.push({ channel: request.channel, code: normalised.code, message: normalised.message });
        return;
      }
      const { subscription, position, recovered, replay } = outcome.value;
      const entry: AcceptedSubscription = { channel: request.channel, offset: position.offset, epoch: position.epoch };
      if (request.since !== undefined) entry.recovered = recovered;
      accepted.push(entry);
      // A recovered subscription replays from the client's position; otherwise it starts at the ack's.
      const baseline = request.since !== undefined && recovered ? request.since : position;
      ready.push({ subscription, baseline, replay });
    });
    this.sendFrame({ type: 'ack', id: frame.id, accepted, rejected });
    const deadline = Date.now() + this.ctx.settings.maxReplayMs;
    for (const { subscription, baseline, replay } of ready) await this.goLive(subscription, baseline, replay, deadline);
  }

  private async handleUnsubscribe(frame: UnsubscribeFrame): Promise<void> {
    const removed: string[] = [];
    const missing: string[] = [];
    for (const channel of frame.channels) {
      if (this.drop(channel)) {
        removed.push(channel);
      } else {
        missing.push(channel);
      }
    }
    this.sendFrame({ type: 'ack', id: frame.id, removed, missing });
  }

  // --- outbound ------------------------------------------------------------

  /** Called (through the hub) for each publication of a channel this connection holds. */
  deliverTo(subscription: Subscription, publication: BrokerPublication, wire: Buffer): void {
    if (this.state !== 'open') return;
    if (!subscription.live) {
      // Held back until its replay is out: counts against the budget like queued bytes.
      this.heldBytes += subscription.hold(publication);
      if (this.overBudget()) this.slowConsumer(this.held);
      return;
    }
    this.sendEvent(subscription, publication, wire);
  }

  private sendEvent(subscription: Subscription, publication: BrokerPublication, wire?: Buffer): void {
    if (publication.epoch === subscription.epoch) {
      if (publication.offset <= subscription.lastOffset) return; // already sent: never a duplicate
      if (publication.offset !== subscription.lastOffset + 1) this.sendGap(subscription, publication);
    } else {
      this.sendGap(subscription, publication);
    }
    subscription.epoch = publication.epoch;
    subscription.lastOffset = publication.offset;
    if (this.sendShared(publication.data, wire)) {
      this.ctx.metrics.deliveries += 1;
      this.ctx.metrics.bytesOut += publication.data.length;
    }
  }

  private sendGap(subscription: Subscription, publication: BrokerPublication): void {
    this.logger.warn(
      { channel: subscription.channel, from: subscription.lastOffset, to: publication.offset },
      'gap on live subscription',
    );
    this.sendFrame({
      type: 'gap',
      channel: subscription.channel,
      epoch: publication.epoch,
      offset: publication.offset,
    });
  }

  /**
   * Queues one text frame; `data` is its JSON, `wire` (optional) the same
   * frame already built for the wire, shared by every connection (events,
   * heartbeats). A connection whose outbound queue is over budget is closed
   * 4009 instead: nothing more is queued for it, the close frame goes out
   * behind what is already queued. Returns whether the frame was queued.
   */
  sendShared(data: Buffer | string, wire?: Buffer): boolean {
    if (this.state === 'closed') return false;
    // What the peer has not read yet (replays are paced, see goLive).
    if (this.overBudget()) {
      this.slowConsumer(this.held);
      return false;
    }
    if (this.outbox) {
      this.outbox.push(wire ?? textFrame(typeof data === 'string' ? Buffer.from(data) : data));
    } else {
      this.ws.send(data, { binary: false });
    }
    return true;
  }

  private slowConsumer(buffered: number): void {
    this.ctx.metrics.slowConsumerCloses.inc();
    this.logger.warn({ buffered }, 'slow consumer');
    this.close(CloseCode.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER);
  }

  sendFrame(frame: ServerFrame): void {
    const data = encodeFrame(frame);
    if (this.sendShared(data)) {
      this.ctx.metrics.frameOut(frame.type);
      this.ctx.metrics.bytesOut += data.length;
    }
  }

  /** Sends a WebSocket ping (idle detection); the peer's pong refreshes `lastSeen`. */
  ping(): void {
    if (this.state === 'closed') return;
    try {
      this.ws.ping();
    } catch (error) {
      this.logger.debug({ err: error }, 'ping failed');
    }
  }

  /** Destroys the socket without a close handshake (half-open peers). */
  terminate(): void {
    this.release();
    this.state = 'closed';
    this.ws.terminate();
  }

  sendError(code: ErrorCode, message: string, id?: number): void {
    const frame: ErrorFrame = { type: 'error', code, message };
    if (id !== undefined) frame.id = id;
    this.sendFrame(frame);
  }

  // --- closing -------------------------------------------------------------

  /**
   * The one way a connection ends from the server side: stop sending, close
   * with `code`, and destroy the socket if the peer does not finish the close
   * handshake in time. Safe to call more than once.
   */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.release();
    this.state = 'closed';
    // A paused socket would never read the peer's close frame.
    if (this.ws.isPaused) this.ws.resume();
    // Our close frame goes out behind everything already queued; if ws is
    // already closing (it sent its own close frame), nothing may follow it.
    if (this.ws.readyState === this.ws.OPEN) this.outbox?.flush();
    else this.outbox?.discard();
    try {
      this.ws.close(code, reason);
    } catch (error) {
      this.logger.warn({ err: error }, 'close failed');
      this.ws.terminate();
    }
    this.closeTimer = setTimeout(() => this.ws.terminate(), this.ctx.settings.closeTimeoutMs);
    this.closeTimer.unref();
    this.logger.debug({ code, reason }, 'connection closing');
  }

  private release(): void {
    this.ctx.deadlines.auth.cancel(this);
    this.ctx.deadlines.expiry.cancel(this);
    for (let s = this.firstSubscription; s !== null; s = s.next) this.ctx.hub.remove(s.channel, s);
    this.firstSubscription = null;
    this.subscriptionCount = 0;
    this.heldBytes = 0;
  }

  /** @internal The socket is closed (`ws`'s `close` event). */
  socketClosed(code: number, reason: string): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    if (this.state !== 'closed') {
      this.release();
      this.state = 'closed';
    }
    this.ctx.onClosed(this, code, reason);
  }
}

/**
 * The `id` of a frame that will not be parsed (refused by the rate limit),
 * read cheaply from its first bytes so the refusal can still be matched.
 */
function frameIdOf(data: Buffer): number | undefined {
  const head = data.toString('utf8', 0, Math.min(data.length, 256));
  const match = /"id"\s*:\s*(\d{1,15})\s*[,}]/.exec(head);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
