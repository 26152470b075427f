import {
  type AckFrame,
  type ClientFrame,
  CloseCode,
  decodeServerFrame,
  type ErrorCode,
  type ErrorFrame,
  type EventFrame,
  encodeFrame,
  type StreamPosition,
  type SubscribeRequest,
  type WelcomeFrame,
} from '@albatross/protocol';
import { backoffDelay } from './backoff.js';
import { createWarner, defaultWarn, tokenProblem, type WarnFunction } from './dev-warn.js';
import { Emitter } from './emitter.js';
import { AlbatrossClientError, type ClientErrorCode, UnauthorizedError } from './errors.js';
import { type StaleEvent, Subscription, type SubscriptionHost, SubscriptionState } from './subscription.js';
import type { ChannelEvents, EventMap, KnownChannel, RealtimeEvent } from './types.js';

/** States of an {@link AlbatrossClient}. */
export const ConnectionState = {
  /** Not connected and not trying: before `connect()` or after `disconnect()`. */
  Disconnected: 'disconnected',
  /** Opening a socket, authenticating, or waiting to retry (see `attempt`). */
  Connecting: 'connecting',
  /** Authenticated; subscriptions are live. */
  Connected: 'connected',
  /** Stopped for good (revoked, or `getToken` threw {@link UnauthorizedError}); see `error`. */
  Error: 'error',
} as const;
/** One of {@link ConnectionState}. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WHATWG WebSocket the client uses (browsers' and `ws`'s both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}
/** A WebSocket constructor, e.g. the browser's `WebSocket` or `ws`'s default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A source of "on/off" signals: network reachability or page visibility. */
export interface SignalSource {
  /** Current value (online, visible). */
  get(): boolean;
  /** Calls `listener` on every change; returns a function that stops it. */
  watch(listener: (value: boolean) => void): () => void;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** WebSocket endpoint, e.g. `wss://rt.example.com/ws`. The token is never put in it. */
  url: string;
  /**
   * Returns a fresh token; called before every connection attempt and before
   * each refresh. Throw {@link UnauthorizedError} to stop for good.
   */
  getToken: () => string | Promise<string>;
  /** WebSocket constructor; defaults to `globalThis.WebSocket` (pass `ws`'s on Node 20). */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay cap, ms (default 1000). */
  minReconnectDelayMs?: number;
  /** Largest reconnect delay, ms (default 32000). */
  maxReconnectDelayMs?: number;
  /** A connection that lasted this long resets the backoff, ms (default 10000). */
  stableAfterMs?: number;
  /** Longest wait from opening a socket to `welcome`, ms (default 10000). */
  connectTimeoutMs?: number;
  /** Refresh the token this long before its `exp` (or at half its remaining life if later), ms (default 60000). */
  refreshBeforeMs?: number;
  /** Network reachability; defaults to `online`/`offline` events and `navigator.onLine` where they exist. */
  network?: SignalSource;
  /** Page visibility; defaults to `document.visibilityState` where it exists. */
  visibility?: SignalSource;
  /** Random source in [0, 1) for jitter (tests pass a fixed one). */
  random?: () => number;
  /**
   * Where to say, once per (code, channel), what went wrong: a rejected
   * subscription, a refused or failing connection, a bad token. Defaults to
   * `console.warn` in development builds (`process.env.NODE_ENV !==
   * 'production'`) and to nothing in production; `false` turns it off. Every
   * error is also emitted as `error` and kept in `getSnapshot().error`.
   */
  warn?: WarnFunction | false;
}

/** Events of an {@link AlbatrossClient}. */
export interface ClientEvents {
  /** Every state change, exactly once, as `{ old, new }`. */
  state: { old: ConnectionState; new: ConnectionState };
  /** Authenticated (after every (re)connect). */
  connected: { connectionId: string; userId: string; tenantId: string };
  /** A retry is scheduled: `attempt` counts retries since the last stable connection. */
  reconnecting: { attempt: number; delayMs: number; code: number; reason: string };
  /** The token was refreshed in-band, without reconnecting; `exp` is the new token's. */
  refreshed: { exp: number | undefined };
  /** Every delivered event of every subscribed channel. */
  event: RealtimeEvent;
  /** A channel's data may be stale: refetch it. */
  stale: StaleEvent;
  error: AlbatrossClientError;
}

/** What a UI shows about the connection; the same object until something changes. */
export interface ConnectionSnapshot {
  state: ConnectionState;
  /** Retries since the last stable connection (0 when none). */
  attempt: number;
  /**
   * The last error: `code`, `message`, and in `details` the `closeCode`, the
   * `channel` of a rejected subscription and a `hint`. Cleared by a new
   * `welcome`; a subscription rejected after it sets it again.
   */
  error: AlbatrossClientError | null;
}

const online = (): SignalSource => {
  const g = globalThis as {
    addEventListener?: Window['addEventListener'];
    removeEventListener?: Window['removeEventListener'];
    navigator?: { onLine?: boolean };
  };
  return {
    get: () => g.navigator?.onLine !== false,
    watch(listener) {
      if (!g.addEventListener || !g.removeEventListener) return () => {};
      const up = () => listener(true);
      const down = () => listener(false);
      g.addEventListener('online', up);
      g.addEventListener('offline', down);
      return () => {
        g.removeEventListener?.('online', up);
        g.removeEventListener?.('offline', down);
      };
    },
  };
};

const visible = (): SignalSource => {
  const d = (globalThis as { document?: Document }).document;
  const get = () => d?.visibilityState !== 'hidden';
  return {
    get,
    watch(listener) {
      if (!d) return () => {};
      const on = () => listener(get());
      d.addEventListener('visibilitychange', on);
      return () => d.removeEventListener('visibilitychange', on);
    },
  };
};

/** `exp` of a compact JWT (not verified: only to schedule the refresh). */
function jwtExp(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

const RETRYABLE: ReadonlySet<string> = new Set(['UNAVAILABLE', 'INTERNAL', 'RATE_LIMITED']);
const OPEN = 1;

type TimerName = 'retry' | 'connect' | 'watchdog' | 'refresh' | 'resync';
type Pending = (frame: AckFrame | ErrorFrame) => void;

/**
 * One realtime connection: authenticates with a first-frame `auth`, keeps
 * itself alive (backoff, online/visibility, heartbeat watchdog, in-band token
 * refresh) and keeps its subscriptions complete and in order.
 *
 * @example
 * const client = createClient<AppEvents>({ url: 'wss://rt.example.com/ws', getToken });
 * client.on('state', ({ new: state }) => console.log(state));
 * client.connect();
 */
export class AlbatrossClient<M extends EventMap = EventMap> extends Emitter<ClientEvents> implements SubscriptionHost {
  /** Current state; changes are emitted as `state`. */
  state: ConnectionState = ConnectionState.Disconnected;
  /** Retries since the last stable connection. */
  attempt = 0;
  /** The last error reported (cleared on connect). */
  error: AlbatrossClientError | null = null;
  /** Server-assigned ids of the current connection (after `welcome`). */
  session: { connectionId: string; userId: string; tenantId: string } | null = null;

  private readonly opts: Required<Omit<ClientOptions, 'WebSocket' | 'warn'>> & { WebSocket: WebSocketConstructor };
  private readonly warnOnce: (error: AlbatrossClientError) => void;
  private readonly subs = new Map<string, Subscription<never>>();
  private readonly unwanted = new Set<string>();
  private pending = new Map<number, Pending>();
  private ws: WebSocketLike | null = null;
  /** Transport generation: callbacks of an older socket (or token fetch) see a different value and do nothing. */
  private gen = 0;
  private nextId = 1;
  private heartbeatMs = 0;
  private connectedAt = 0;
  private exp: number | undefined;
  private waiting = false;
  private batching = false;
  private timers: Partial<Record<TimerName, ReturnType<typeof setTimeout>>> = {};
  private unwatch: Array<() => void> = [];
  private snap: ConnectionSnapshot = { state: ConnectionState.Disconnected, attempt: 0, error: null };

  constructor(options: ClientOptions) {
    super();
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new AlbatrossClientError('CONFIG', 'no WebSocket implementation: pass options.WebSocket');
    this.opts = {
      minReconnectDelayMs: 1000,
      maxReconnectDelayMs: 32_000,
      stableAfterMs: 10_000,
      connectTimeoutMs: 10_000,
      refreshBeforeMs: 60_000,
      network: online(),
      visibility: visible(),
      random: Math.random,
      ...options,
      WebSocket: WS,
    };
    this.warnOnce = createWarner(options.warn === false ? null : (options.warn ?? defaultWarn()));
  }

  /** The state, attempt count and error as one object that changes identity only when one of them changes. */
  getSnapshot(): ConnectionSnapshot {
    const s = this.snap;
    if (s.state !== this.state || s.attempt !== this.attempt || s.error !== this.error) {
      this.snap = { state: this.state, attempt: this.attempt, error: this.error };
    }
    return this.snap;
  }

  /**
   * Starts connecting (and keeps reconnecting) until `disconnect()`. Does
   * nothing when already connected or connecting.
   */
  connect(): void {
    if (this.state === ConnectionState.Connecting || this.state === ConnectionState.Connected) return;
    this.attempt = 0;
    this.error = null;
    const { network, visibility } = this.opts;
    this.unwatch.push(
      network.watch((up) => (up ? this.wake() : this.drop(0, 'offline', true))),
      visibility.watch((shown) => {
        if (!shown) return;
        if (this.state === ConnectionState.Connected) {
          // Back from sleep or a hidden tab: prove the socket is alive soon.
          this.send({ type: 'ping' });
          this.arm('watchdog', Math.min(this.heartbeatMs * 2, 5000), () => this.timeout('no answer to ping'));
        } else this.wake();
      }),
    );
    this.setState(ConnectionState.Connecting);
    void this.open();
  }

  /** Closes the connection and stops reconnecting. Subscriptions are kept for the next `connect()`. */
  disconnect(): void {
    this.drop(CloseCode.NORMAL, 'client disconnect', false);
  }

  /**
   * Returns the subscription of `channel`, creating and subscribing it if
   * needed: one object per channel, shared by every caller.
   *
   * @example
   * const sub = client.subscribe(`tenant:${tenantId}:updates`);
   * sub.onEvent('user.created', (user) => addUser(user));
   */
  subscribe<C extends KnownChannel<M>>(channel: C): Subscription<ChannelEvents<M, C>> {
    let sub = this.subs.get(channel);
    if (!sub) {
      sub = new Subscription<never>(channel, this);
      this.want(sub);
    }
    return sub as unknown as Subscription<ChannelEvents<M, C>>;
  }

  /** The subscription of `channel`, if the app or the server (baseline channels) made one. */
  getSubscription<C extends KnownChannel<M>>(channel: C): Subscription<ChannelEvents<M, C>> | undefined {
    return this.subs.get(channel) as unknown as Subscription<ChannelEvents<M, C>> | undefined;
  }

  /** Every subscription currently wanted. */
  subscriptions(): Subscription[] {
    return [...this.subs.values()] as unknown as Subscription[];
  }

  /** Fetches a new token and sends it in-band now, without reconnecting (also done automatically before `exp`). */
  async refreshToken(): Promise<void> {
    if (this.state !== ConnectionState.Connected) return;
    const gen = this.gen;
    let token: string;
    try {
      token = await this.opts.getToken();
    } catch (error) {
      if (gen !== this.gen) return;
      if (error instanceof UnauthorizedError) return this.drop(CloseCode.UNAUTHORIZED, error.message, false, error);
      this.report(tokenFailure(error));
      this.arm(
        'refresh',
        backoffDelay(2, this.opts.minReconnectDelayMs, this.opts.maxReconnectDelayMs, this.opts.random),
        () => void this.refreshToken(),
      );
      return;
    }
    if (gen !== this.gen || this.state !== ConnectionState.Connected) return;
    const problem = tokenProblem(token);
    if (problem)
      return this.drop(0, problem.message, false, new AlbatrossClientError('CONFIG', problem.message, problem));
    const id = this.nextId++;
    const exp = jwtExp(token);
    this.pending.set(id, (frame) => {
      if (frame.type === 'error') {
        this.report(new AlbatrossClientError(frame.code, frame.message));
        this.scheduleRefresh(this.exp); // try again, closer to exp each time
      } else {
        this.exp = ('exp' in frame ? frame.exp : undefined) ?? exp;
        this.scheduleRefresh(this.exp);
        this.emit('refreshed', { exp: this.exp });
      }
    });
    this.send({ type: 'auth', token, id });
  }

  // --- subscriptions (SubscriptionHost) --------------------------------------

  /** @internal */
  want(sub: Subscription<never>): void {
    if (
      this.subs.get(sub.channel) === sub &&
      sub.state !== SubscriptionState.Unsubscribed &&
      sub.state !== SubscriptionState.Error
    )
      return;
    this.subs.set(sub.channel, sub);
    this.unwanted.delete(sub.channel);
    if (sub.error && this.error === sub.error) this.error = null; // asked again: no longer the last word
    sub.error = null;
    sub.serverSide = false;
    sub.setState(SubscriptionState.Subscribing);
    this.batch();
  }

  /** Sends what is waiting on the next microtask, so requests made in one tick share one frame. */
  private batch(): void {
    if (this.batching) return;
    this.batching = true;
    queueMicrotask(() => {
      this.batching = false;
      this.resync();
    });
  }

  /** @internal */
  unwant(sub: Subscription<never>): void {
    if (this.subs.get(sub.channel) !== sub) return;
    this.subs.delete(sub.channel);
    if (sub.serverSide) this.unwanted.add(sub.channel);
    const held = sub.state !== SubscriptionState.Error; // a rejected channel is not held by the server
    sub.inflight = 0;
    sub.position = null;
    sub.setState(SubscriptionState.Unsubscribed);
    if (held && this.state === ConnectionState.Connected)
      this.send({ type: 'unsubscribe', id: this.nextId++, channels: [sub.channel] });
  }

  private sendSubscribe(subs: Subscription<never>[]): void {
    if (subs.length === 0) return;
    const id = this.nextId++;
    const since = new Map<string, StreamPosition | undefined>();
    const channels: SubscribeRequest[] = subs.map((sub) => {
      sub.inflight = id;
      const position = sub.position ? { ...sub.position } : undefined;
      since.set(sub.channel, position);
      return position ? { channel: sub.channel, since: position } : { channel: sub.channel };
    });
    this.pending.set(id, (frame) => this.onSubscribed(frame, id, since));
    this.send({ type: 'subscribe', id, channels });
  }

  private onSubscribed(frame: AckFrame | ErrorFrame, id: number, since: Map<string, StreamPosition | undefined>): void {
    const mine = (channel: string) => {
      const sub = this.subs.get(channel);
      return sub?.inflight === id ? sub : undefined;
    };
    if (frame.type === 'error') {
      for (const channel of since.keys()) {
        const sub = mine(channel);
        if (sub) this.rejected(sub, frame.code, frame.message, frame.retry_after_ms);
      }
      return;
    }
    if (!('accepted' in frame)) return;
    for (const entry of frame.accepted) {
      const sub = mine(entry.channel);
      if (!sub) continue;
      sub.inflight = 0;
      const from = since.get(entry.channel);
      // Recovered: the replay from `since` follows the ack, so the position stays where it is.
      const recovered = from ? entry.recovered === true : undefined;
      if (!recovered) sub.position = { offset: entry.offset, epoch: entry.epoch };
      sub.recovered = recovered;
      sub.setState(SubscriptionState.Subscribed);
      sub.fire('subscribed', { recovered });
      if (recovered === false) this.stale(sub, 'unrecoverable');
    }
    for (const entry of frame.rejected) {
      const sub = mine(entry.channel);
      if (sub) this.rejected(sub, entry.code, entry.message);
    }
  }

  private rejected(sub: Subscription<never>, code: ErrorCode, message: string, retryAfterMs?: number): void {
    sub.inflight = 0;
    const retryable = RETRYABLE.has(code);
    const error = new AlbatrossClientError(code, message, {
      channel: sub.channel,
      ...(retryable ? {} : { hint: rejectionHint(code) }),
    });
    if (retryable) {
      // Transient: keep wanting it and ask again shortly.
      sub.setState(SubscriptionState.Subscribing);
      const delay =
        retryAfterMs ?? backoffDelay(1, this.opts.minReconnectDelayMs, this.opts.maxReconnectDelayMs, this.opts.random);
      this.arm('resync', delay, () => this.resync());
    } else {
      // Rejected for good: it stays, in state `error`, so hooks and
      // `getSubscription` show why; `sub.subscribe()` or `unsubscribe()` ends it.
      sub.error = error;
      sub.setState(SubscriptionState.Error);
    }
    sub.fire('error', error);
    this.report(error);
  }

  private resync(): void {
    if (this.state !== ConnectionState.Connected) return;
    // inflight -1: a recovery queued by the gap check.
    this.sendSubscribe(
      [...this.subs.values()].filter(
        (s) => s.inflight === -1 || (s.state === SubscriptionState.Subscribing && !s.inflight),
      ),
    );
  }

  private stale(sub: Subscription<never>, reason: StaleEvent['reason']): void {
    const event: StaleEvent = { channel: sub.channel, reason };
    sub.fire('stale', event);
    this.emit('stale', event);
  }

  // --- transport -----------------------------------------------------------

  private async open(): Promise<void> {
    const gen = ++this.gen;
    this.clear('retry');
    this.waiting = false;
    if (!this.opts.network.get()) {
      this.waiting = true;
      return;
    }
    let token: string;
    try {
      token = await this.opts.getToken();
    } catch (error) {
      if (gen !== this.gen) return;
      if (error instanceof UnauthorizedError) return this.drop(CloseCode.UNAUTHORIZED, error.message, false, error);
      return this.drop(0, 'getToken failed', true, tokenFailure(error));
    }
    if (gen !== this.gen) return;
    const problem = tokenProblem(token);
    if (problem) {
      // A wiring mistake, not an outage: retrying would loop on the same answer.
      return this.drop(0, problem.message, false, new AlbatrossClientError('CONFIG', problem.message, problem));
    }
    this.exp = jwtExp(token);
    let ws: WebSocketLike;
    try {
      ws = new this.opts.WebSocket(this.opts.url);
    } catch (error) {
      return this.drop(
        0,
        'cannot open socket',
        true,
        new AlbatrossClientError('TRANSPORT', 'cannot open socket', { cause: error }),
      );
    }
    this.ws = ws;
    this.arm('connect', this.opts.connectTimeoutMs, () => this.timeout('no welcome in time'));
    let opened = false;
    ws.onopen = () => {
      opened = true;
      if (gen === this.gen) this.send({ type: 'auth', token });
    };
    ws.onmessage = (event) => {
      if (gen === this.gen && typeof event.data === 'string') this.onFrame(event.data);
    };
    ws.onclose = (event) => {
      if (gen === this.gen) this.onClose(event.code, event.reason, opened);
    };
    ws.onerror = () => {};
  }

  private onClose(code: number, reason: string, opened: boolean): void {
    this.ws = null;
    if (this.connectedAt && Date.now() - this.connectedAt >= this.opts.stableAfterMs) this.attempt = 0;
    let delay: number | undefined;
    switch (code) {
      case CloseCode.FORBIDDEN:
        this.drop(
          code,
          reason,
          false,
          new AlbatrossClientError('FORBIDDEN', reason || 'access revoked', { closeCode: code }),
        );
        return;
      case CloseCode.GOING_AWAY: {
        let after: unknown;
        try {
          after = (JSON.parse(reason) as { reconnect_after_ms?: unknown }).reconnect_after_ms;
        } catch {}
        // The server names the delay; a little jitter spreads the herd of a deploy.
        if (typeof after === 'number' && after >= 0)
          delay = after + Math.floor(this.opts.random() * this.opts.minReconnectDelayMs);
        break;
      }
      case CloseCode.CONNECTION_LIMIT:
        // Back off longer: start at 8× the minimum delay.
        this.attempt = Math.max(this.attempt, 3);
        break;
    }
    const codeOf: Record<number, ClientErrorCode> = {
      [CloseCode.UNAUTHORIZED]: 'UNAUTHORIZED',
      [CloseCode.SLOW_CONSUMER]: 'SLOW_CONSUMER',
      [CloseCode.CONNECTION_LIMIT]: 'CONNECTION_LIMIT',
      [CloseCode.POLICY_VIOLATION]: 'INVALID_MESSAGE',
    };
    const errorCode = codeOf[code];
    this.drop(code, reason, true, this.closeError(code, reason, opened, errorCode), delay);
  }

  /** What a close says to the app; nothing for a normal close or a server going away (a deploy). */
  private closeError(
    code: number,
    reason: string,
    opened: boolean,
    errorCode: ClientErrorCode | undefined,
  ): AlbatrossClientError | undefined {
    if (errorCode) return new AlbatrossClientError(errorCode, reason || errorCode, { closeCode: code });
    if (!opened) {
      // Browsers hide why an upgrade failed (status, body): name the usual causes.
      return new AlbatrossClientError('TRANSPORT', `could not open a WebSocket to ${this.opts.url}`, {
        closeCode: code,
        hint:
          'the server refused the upgrade or that URL is not a WebSocket endpoint: check the URL, ' +
          'the dev-server proxy for it (`ws: true`), and the gateway log (a refused Origin names --allowed-origins)',
      });
    }
    if (code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY) return undefined;
    return new AlbatrossClientError('TRANSPORT', reason || 'connection closed unexpectedly', { closeCode: code });
  }

  private timeout(message: string): void {
    this.drop(0, message, true, new AlbatrossClientError('TIMEOUT', message));
  }

  /**
   * The one way a connection ends: invalidate the transport generation, stop
   * timers, close the socket, then either schedule a retry (`retry`), or stop
   * in `disconnected` (no error) or `error` (with one).
   */
  private drop(code: number, reason: string, retry: boolean, error?: AlbatrossClientError, delayMs?: number): void {
    this.gen++;
    for (const name of ['retry', 'connect', 'watchdog', 'refresh', 'resync'] as const) this.clear(name);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = null;
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = () => {};
      try {
        ws.close(CloseCode.NORMAL);
      } catch {}
    }
    this.pending = new Map();
    this.heartbeatMs = 0;
    this.connectedAt = 0;
    this.session = null;
    for (const sub of this.subs.values()) {
      sub.inflight = 0;
      if (sub.state !== SubscriptionState.Error) sub.setState(SubscriptionState.Subscribing);
    }
    if (error) this.report(error);
    if (retry) {
      this.setState(ConnectionState.Connecting);
      this.schedule(code, reason, delayMs);
      return;
    }
    this.waiting = false;
    for (const stop of this.unwatch.splice(0)) stop();
    this.setState(error ? ConnectionState.Error : ConnectionState.Disconnected);
  }

  private schedule(code: number, reason: string, delayMs?: number): void {
    if (!this.opts.network.get()) {
      this.waiting = true; // resumes on `online`
      return;
    }
    const delay =
      delayMs ??
      backoffDelay(this.attempt, this.opts.minReconnectDelayMs, this.opts.maxReconnectDelayMs, this.opts.random);
    this.attempt += 1;
    this.emit('reconnecting', { attempt: this.attempt, delayMs: delay, code, reason });
    this.arm('retry', delay, () => void this.open());
  }

  /** Retry right now if waiting for a retry (network back, tab shown). */
  private wake(): void {
    if (this.state === ConnectionState.Connecting && (this.waiting || this.timers.retry)) void this.open();
  }

  private onFrame(text: string): void {
    const frame = decodeServerFrame(text);
    if (!frame) return;
    if (this.heartbeatMs) this.arm('watchdog', this.heartbeatMs * 2, () => this.timeout('no heartbeat'));
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame);
        break;
      case 'event':
        this.onEvent(frame);
        break;
      case 'gap': {
        // Announced loss: resume after it and tell the app to refetch.
        const sub = this.subs.get(frame.channel);
        if (!sub) return;
        sub.position = { offset: frame.offset - 1, epoch: frame.epoch };
        this.stale(sub, 'gap');
        break;
      }
      case 'ack':
      case 'error': {
        const handler = frame.id === undefined ? undefined : this.pending.get(frame.id);
        if (handler && frame.id !== undefined) {
          this.pending.delete(frame.id);
          handler(frame);
          return;
        }
        if (frame.type === 'error') this.report(new AlbatrossClientError(frame.code, frame.message));
        return;
      }
    }
  }

  private onWelcome(frame: WelcomeFrame): void {
    this.clear('connect');
    this.heartbeatMs = frame.heartbeat_ms;
    this.arm('watchdog', this.heartbeatMs * 2, () => this.timeout('no heartbeat'));
    this.connectedAt = Date.now();
    this.session = { connectionId: frame.connection_id, userId: frame.user_id, tenantId: frame.tenant_id };
    // Connected clears the connection's error, not a subscription still refused.
    this.error = [...this.subs.values()].find((sub) => sub.state === SubscriptionState.Error)?.error ?? null;
    this.scheduleRefresh(this.exp);
    const held = new Set<string>();
    const drop: string[] = [];
    const resubscribe: Subscription<never>[] = [];
    const settled: Subscription<never>[] = [];
    for (const position of frame.subscriptions) {
      const { channel, offset, epoch } = position;
      held.add(channel);
      if (this.unwanted.has(channel)) {
        drop.push(channel);
        continue;
      }
      let sub = this.subs.get(channel);
      if (!sub) {
        sub = new Subscription<never>(channel, this);
        this.subs.set(channel, sub);
      }
      sub.serverSide = true;
      sub.error = null;
      const seen = sub.position;
      if (seen && (seen.epoch !== epoch || seen.offset !== offset)) {
        resubscribe.push(sub); // missed something: replay it from where we were
      } else {
        sub.position = { offset, epoch };
        sub.recovered = seen ? true : undefined;
        settled.push(sub);
      }
    }
    for (const sub of this.subs.values())
      if (!held.has(sub.channel) && sub.state !== SubscriptionState.Error) resubscribe.push(sub);
    this.setState(ConnectionState.Connected);
    this.emit('connected', this.session);
    if (drop.length) this.send({ type: 'unsubscribe', id: this.nextId++, channels: drop });
    this.sendSubscribe(resubscribe);
    for (const sub of settled) {
      sub.setState(SubscriptionState.Subscribed);
      sub.fire('subscribed', { recovered: sub.recovered });
    }
  }

  private onEvent(frame: EventFrame): void {
    const sub = this.subs.get(frame.channel);
    if (!sub) return;
    const seen = sub.position;
    if (seen && seen.epoch === frame.epoch) {
      if (frame.offset <= seen.offset) return; // duplicate: already delivered
      if (frame.offset !== seen.offset + 1) {
        // Missing events: ask the server to replay from what we have instead of delivering out of order.
        if (!sub.inflight) {
          sub.inflight = -1;
          this.batch();
        }
        return;
      }
    } else if (seen) {
      if (sub.inflight) return; // the pending answer settles the position
      this.stale(sub, 'epoch');
    }
    sub.position = { offset: frame.offset, epoch: frame.epoch };
    const { type: _type, ...event } = frame;
    sub.fire('event', event as never);
    this.emit('event', event);
  }

  private scheduleRefresh(exp: number | undefined): void {
    this.clear('refresh');
    if (exp === undefined) return;
    const left = exp * 1000 - Date.now();
    if (left <= 0) return;
    this.arm('refresh', Math.max(left / 2, left - this.opts.refreshBeforeMs), () => void this.refreshToken());
  }

  // --- helpers -------------------------------------------------------------

  private send(frame: ClientFrame): void {
    const ws = this.ws;
    if (ws && ws.readyState === OPEN) ws.send(encodeFrame(frame));
  }

  private setState(state: ConnectionState): void {
    const old = this.state;
    if (old === state) return;
    this.state = state;
    this.emit('state', { old, new: state });
  }

  private report(error: AlbatrossClientError): void {
    this.error = error;
    this.warnOnce(error);
    this.emit('error', error);
  }

  private arm(name: TimerName, ms: number, run: () => void): void {
    this.clear(name);
    this.timers[name] = setTimeout(() => {
      delete this.timers[name];
      run();
    }, ms);
  }

  private clear(name: TimerName): void {
    const timer = this.timers[name];
    if (timer !== undefined) clearTimeout(timer);
    delete this.timers[name];
  }
}

/** What to check when the server rejects a subscription for good. */
function rejectionHint(code: ErrorCode): string {
  if (code === 'FORBIDDEN')
    return "the subscription is not retried: the token's claims do not allow this channel (compare its tenant/user segment with the token's)";
  return 'the subscription is not retried: check the channel name and its event types against the server';
}

/** The error for a `getToken()` that threw: retried, and says what it threw. */
function tokenFailure(cause: unknown): AlbatrossClientError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new AlbatrossClientError('UNAVAILABLE', `getToken() failed: ${why}`, {
    cause,
    hint: 'retrying with backoff; throw UnauthorizedError from getToken to stop',
  });
}

/**
 * Creates a client (not yet connected: call `connect()`).
 *
 * @example
 * import WebSocket from 'ws'; // Node 20 only; browsers have their own
 * const client = createClient<AppEvents>({
 *   url: 'wss://rt.example.com/ws',
 *   getToken: () => fetch('/api/rt-token').then((r) => r.text()),
 *   WebSocket,
 * });
 * client.connect();
 */
export function createClient<M extends EventMap = EventMap>(options: ClientOptions): AlbatrossClient<M> {
  return new AlbatrossClient<M>(options);
}
