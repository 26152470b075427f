import type {
  AcceptedSubscription,
  ClientFrame,
  EventFrame,
  ServerFrame,
  StreamPosition,
  SubscribeFrame,
} from '@albatross/protocol';
import type { SignalSource, WebSocketLike } from '../../src/index.js';

interface Channel {
  epoch: string;
  offset: number;
  events: EventFrame[];
  /** Oldest offset still replayable (history trimmed below it). */
  oldest: number;
}

/**
 * An in-process protocol v1 server for unit tests: sockets open on the next
 * microtask, `auth` gets a `welcome` with the baseline channels, `subscribe`
 * with `since` replays from history, and tests inject any frame or close.
 * Runs under fake timers (nothing here uses timers).
 */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly channels = new Map<string, Channel>();
  baseline: string[] = ['tenant:t1:updates'];
  /** Long by default so tests that advance minutes see no watchdog unless they ask for one. */
  heartbeatMs = 3_600_000;
  /** When set, new sockets close with this code right after opening. */
  refuseWith: number | null = null;
  /** Every channel subscribe request the server received, in order. */
  readonly subscribeLog: SubscribeFrame['channels'] = [];
  /** Set false to answer subscribe frames by hand (tests drive `ack` themselves). */
  autoAck = true;
  private epochs = 0;

  readonly WebSocket: new (
    url: string,
  ) => FakeSocket;

  constructor() {
    const server = this;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(url, server);
        server.sockets.push(this);
      }
    };
  }

  /** The newest socket. */
  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no socket yet');
    return socket;
  }

  channel(name: string): Channel {
    let channel = this.channels.get(name);
    if (!channel) {
      this.epochs += 1;
      channel = { epoch: `e${this.epochs}`, offset: 0, events: [], oldest: 1 };
      this.channels.set(name, channel);
    }
    return channel;
  }

  /** Resets a channel's history: a new epoch, offsets from 1. */
  resetEpoch(name: string): void {
    this.channels.delete(name);
    this.channel(name);
  }

  /** Publishes one event; live sockets holding the channel get it. */
  publish(name: string, eventType = 'thing.changed', payload: unknown = {}): EventFrame {
    const channel = this.channel(name);
    channel.offset += 1;
    const event: EventFrame = {
      type: 'event',
      channel: name,
      offset: channel.offset,
      epoch: channel.epoch,
      event_type: eventType,
      ts: 0,
      payload: payload as EventFrame['payload'],
    };
    channel.events.push(event);
    for (const socket of this.sockets) if (socket.live && socket.held.has(name)) socket.push(event);
    return event;
  }

  position(name: string): StreamPosition {
    const { offset, epoch } = this.channel(name);
    return { offset, epoch };
  }

  /** Handles one client frame like the real gateway would. */
  receive(socket: FakeSocket, frame: ClientFrame): void {
    switch (frame.type) {
      case 'auth':
        socket.tokens.push(frame.token);
        if (!socket.authed) {
          socket.authed = true;
          for (const name of this.baseline) socket.held.add(name);
          socket.push({
            type: 'welcome',
            connection_id: `c${this.sockets.indexOf(socket) + 1}`,
            user_id: 'u1',
            tenant_id: 't1',
            heartbeat_ms: this.heartbeatMs,
            subscriptions: this.baseline.map((channel) => ({ channel, ...this.position(channel) })),
          });
        } else {
          socket.push({ type: 'ack', ...(frame.id === undefined ? {} : { id: frame.id }), refreshed: true });
        }
        return;
      case 'subscribe':
        this.subscribeLog.push(...frame.channels);
        if (this.autoAck) this.ack(socket, frame);
        return;
      case 'unsubscribe':
        for (const name of frame.channels) socket.held.delete(name);
        socket.push({ type: 'ack', id: frame.id, removed: frame.channels, missing: [] });
        return;
      case 'ping':
        socket.push(frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id });
        return;
    }
  }

  /** Answers a subscribe like the gateway: ack, then the replay of recovered channels. */
  ack(socket: FakeSocket, frame: SubscribeFrame): void {
    const accepted: AcceptedSubscription[] = [];
    const replays: EventFrame[] = [];
    for (const entry of frame.channels) {
      const name = typeof entry === 'string' ? entry : entry.channel;
      const since = typeof entry === 'string' ? undefined : entry.since;
      const channel = this.channel(name);
      socket.held.add(name);
      const position = { channel: name, offset: channel.offset, epoch: channel.epoch };
      if (!since) {
        accepted.push(position);
        continue;
      }
      const recovered =
        since.epoch === channel.epoch && since.offset <= channel.offset && since.offset + 1 >= channel.oldest;
      accepted.push({ ...position, recovered });
      if (recovered) replays.push(...channel.events.filter((e) => e.offset > since.offset));
    }
    socket.push({ type: 'ack', id: frame.id, accepted, rejected: [] });
    for (const event of replays) socket.push(event);
  }
}

/** A fake WebSocket: the client's side calls send/close; the test drives the server side. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: ClientFrame[] = [];
  readonly tokens: string[] = [];
  readonly held = new Set<string>();
  authed = false;
  /** Set when the client closed it. */
  closedByClient: number | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private message: ((event: { data: unknown }) => void) | null = null;
  private closeHandler: ((event: { code: number; reason: string }) => void) | null = null;
  /** The handlers first attached, kept even after the client detaches them (to replay late callbacks). */
  private firstMessage: ((event: { data: unknown }) => void) | null = null;
  private firstClose: ((event: { code: number; reason: string }) => void) | null = null;

  get onmessage(): ((event: { data: unknown }) => void) | null {
    return this.message;
  }
  set onmessage(handler: ((event: { data: unknown }) => void) | null) {
    this.message = handler;
    this.firstMessage ??= handler;
  }
  get onclose(): ((event: { code: number; reason: string }) => void) | null {
    return this.closeHandler;
  }
  set onclose(handler: ((event: { code: number; reason: string }) => void) | null) {
    this.closeHandler = handler;
    this.firstClose ??= handler;
  }

  constructor(
    readonly url: string,
    private readonly server: FakeServer,
  ) {
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      // A refused upgrade: closed without ever opening, as browsers report it.
      if (server.refuseWith !== null) return this.serverClose(server.refuseWith);
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  get live(): boolean {
    return this.readyState === 1 && this.authed;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const frame = JSON.parse(data) as ClientFrame;
    this.sent.push(frame);
    this.server.receive(this, frame);
  }

  close(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedByClient = code;
  }

  /** Server → client frame (raw text allowed). */
  push(frame: ServerFrame | string): void {
    if (this.readyState !== 1) return;
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** The server closes the socket (or the network dies, with 1006). */
  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /**
   * A late callback of an old socket, through the handler the client first
   * attached (as if detaching had not taken effect yet).
   */
  lateMessage(frame: ServerFrame): void {
    this.firstMessage?.({ data: JSON.stringify(frame) });
  }

  lateClose(code: number): void {
    this.firstClose?.({ code, reason: '' });
  }
}

/** A controllable online/visible signal. */
export class FakeSignal implements SignalSource {
  private listeners = new Set<(value: boolean) => void>();
  constructor(public value = true) {}
  get(): boolean {
    return this.value;
  }
  watch(listener: (value: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(value: boolean): void {
    this.value = value;
    for (const listener of [...this.listeners]) listener(value);
  }
  get watchers(): number {
    return this.listeners.size;
  }
}

/** A compact JWT-shaped token (unsigned) carrying `exp`, for refresh scheduling. */
export function fakeJwt(exp: number, sub = 'u1'): string {
  const b64 = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'none' })}.${b64({ sub, exp })}.sig`;
}
