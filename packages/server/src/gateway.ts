import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import {
  CloseCode,
  ErrorCode,
  encodeFrame,
  type HistoryResponse,
  type PublishRequest,
  type PublishResponse,
} from '@albatross/protocol';
import { parsePublishRequest } from '@albatross/protocol/validate';
import { WebSocketServer } from 'ws';
import type { ApiKeyVerifier } from './auth/api-keys.js';
import { Authenticator, credentialOf, type RequestCredential } from './auth/authenticator.js';
import type { Identity } from './auth/identity.js';
import type { JwtOptions } from './auth/jwt.js';
import { buildHistoryBody } from './broker/event-frame.js';
import { MemoryBroker } from './broker/memory.js';
import type { Broker, ControlMessage, DisconnectFilter, HealthCheck } from './broker/types.js';
import { type ChannelAuthorizer, ChannelPolicy, DEFAULT_BASELINE } from './channels/policy.js';
import type { Rate } from './config/rate.js';
import { Admission, type AdmissionTicket } from './connection/admission.js';
import { Connection, type ConnectionContext, ConnectionSocket } from './connection/connection.js';
import { DeadlineQueue } from './connection/deadlines.js';
import { DRAIN_MS_PER_CONNECTION, drainWindowMs } from './drain-window.js';
import { AlbatrossError, toAlbatrossError } from './errors.js';
import { Hub } from './fanout/hub.js';
import { createAdminCheck } from './http/admin-auth.js';
import {
  type ConnectionFilter,
  type ConnectionInfo,
  type ConnectionPage,
  createHttpApi,
  DEFAULT_CONNECTIONS_PAGE,
  MAX_CONNECTIONS_PAGE,
} from './http/api.js';
import { createOriginCheck, originRefusal } from './http/origin.js';
import { rejectUpgrade, sendError } from './http/respond.js';
import { type ConnectionCounter, LocalConnectionCounter } from './limits/connection-counter.js';
import { sourceKey } from './limits/source-address.js';
import { createLogger, type Logger, redactUrl } from './log/logger.js';
import { GatewayMetrics } from './metrics/metrics.js';
import { Coalescer, DEFAULT_COALESCE_MAX_DELAY_MS } from './outbound/coalescer.js';
import { textFrame } from './outbound/frame.js';

/** Defaults of every gateway limit; docs/operations.md lists the same. */
export const GATEWAY_DEFAULTS = {
  paths: ['/ws', '/api/ws'],
  heartbeatMs: 30_000,
  authTimeoutMs: 5_000,
  historySize: 1_000,
  historyTtlMs: 10 * 60_000,
  maxPublishBytes: 1024 * 1024,
  maxFrameBytes: 64 * 1024,
  maxSubscriptions: 128,
  slowConsumerBytes: 1024 * 1024,
  maxReplayMs: 60_000,
  idempotencyTtlMs: 5 * 60_000,
  closeTimeoutMs: 30_000,
  idleTimeoutMs: 90_000,
  drainMs: 10_000,
  rateLimit: { burst: 10, perMs: 10_000 } as Rate,
  baseline: DEFAULT_BASELINE as readonly string[],
} as const;

/** The source-address key of every upgrade when no per-address cap is set (nothing counts per address). */
const UNCOUNTED_ADDRESS = 'any';

/** Counter used when no per-tenant or per-user limit is set: admits everyone, counts nothing. */
const UNCOUNTED: ConnectionCounter = {
  acquire: async () => 'ok',
  release() {},
};

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The HTTP server to attach to; the gateway handles upgrades on its `paths`. */
  server: Server;
  /** Upgrade paths (default `/ws` and `/api/ws`). */
  paths?: readonly string[];
  /**
   * Credentials the gateway accepts: JWT key sources and/or an API key
   * verifier; `accept` has the last word on every verified identity (e.g.
   * a deactivated user whose access token has not expired yet).
   */
  auth: { jwt?: JwtOptions; apiKeys?: ApiKeyVerifier; accept?: (identity: Identity) => boolean | Promise<boolean> };
  /** Bearer key of the admin HTTP API (at least 16 characters); the admin API is disabled without it. */
  adminKey?: string;
  /**
   * Failed admin authentications allowed per source address (default 10 per
   * minute); past it that address is answered 429 `RATE_LIMITED` with
   * `Retry-After`. null disables the limit.
   */
  adminAuthFailureRate?: Rate | null;
  /** Broker; defaults to an in-memory broker with `historySize`/`historyTtlMs`. */
  broker?: Broker;
  historySize?: number;
  historyTtlMs?: number;
  /** Per-namespace authorizers for channel namespaces other than `user` and `tenant`. */
  authorizers?: Readonly<Record<string, ChannelAuthorizer>>;
  /** Lets the `PlatformAdmin` role subscribe any tenant's channels. */
  allowPlatformAdmin?: boolean;
  /** Channel templates subscribed at connect; `{sub}` and `{tenant_id}` are substituted. */
  baseline?: readonly string[];
  heartbeatMs?: number;
  authTimeoutMs?: number;
  maxPublishBytes?: number;
  /** Largest client frame (after inflation when permessage-deflate is on); bigger closes 1009. */
  maxFrameBytes?: number;
  maxSubscriptions?: number;
  /**
   * Outbound budget per connection: bytes queued on its socket plus live
   * events held back while a recovery replays. Over it the connection is closed 4009.
   */
  slowConsumerBytes?: number;
  /** Longest the replays of one subscribe (or of the baseline) may take before a close 4009 (default 60 s). */
  maxReplayMs?: number;
  idempotencyTtlMs?: number;
  /** Per-connection client frame rate (token bucket; default 10 per 10 s); null disables. */
  rateLimit?: Rate | null;
  /** Global cap on open WebSocket connections of this node (authenticated or not, upgrades in flight included). */
  maxConnections?: number;
  /**
   * Cap on connections that upgraded without a credential and have not sent
   * their `auth` frame yet. Default: 10 % of `maxConnections` (rounded up)
   * when that is set, else unlimited. Keeps silent sockets from taking the
   * room of upgrades that carry a credential.
   */
  maxUnauthenticatedConnections?: number;
  /** Cap on such unauthenticated connections per source address (IPv6: per /64); default unlimited. */
  maxUnauthenticatedPerAddress?: number;
  maxConnectionsPerTenant?: number;
  maxConnectionsPerUser?: number;
  /** Silence after which a peer is pinged and finally dropped as half-open (default 90 s). */
  idleTimeoutMs?: number;
  /** Window over which a graceful shutdown closes clients (default 10 s). */
  drainMs?: number;
  /**
   * Drain window per connection, ms (default 1: about 1000 reconnects/s):
   * the closes are spread over `connections × this`, at most `drainMs`, so a
   * handful of clients reconnect at once.
   */
  drainMsPerConnection?: number;
  /** Allowed browser origins; empty: same-origin only in production, any otherwise. `*` allows any. */
  allowedOrigins?: readonly string[];
  /** Production mode (default: `NODE_ENV === 'production'`). */
  production?: boolean;
  /** permessage-deflate (off by default; when on, `maxFrameBytes` bounds the inflated size). */
  perMessageDeflate?: boolean;
  /** Adds a per-tenant connections gauge to /metrics. */
  metricsTenantLabel?: boolean;
  /**
   * Coalesce each socket's frames into one write per event-loop turn (default
   * true). Frames are built once per publication and shared by all sockets.
   */
  coalesceWrites?: boolean;
  /** Extra delay before a coalesced write, ms (default 0: end of the current turn). Bounded latency for fewer writes. */
  writeCoalesceMs?: number;
  /**
   * Bound of the load-adaptive write hold, ms (default 20; 0 disables):
   * after a flush that wrote to many sockets or ran late, the next flush
   * waits half as long as that flush took (at most this long) so publications
   * share writes. At light load writes leave at the end of the turn.
   */
  coalesceMaxDelayMs?: number;
  /**
   * Also answer the gateway's HTTP routes on the server's `request` event and
   * 404 everything else (the standalone server). Embedded apps leave this off
   * and mount {@link Gateway.handleRequest} themselves. With it on, the server
   * is the gateway's alone: once drained or closed, the gateway answers every
   * later request and upgrade 503 `UNAVAILABLE` until the server is closed,
   * so do not attach another gateway to it.
   */
  serveHttp?: boolean;
  logger?: Logger;
}

/** A running gateway. */
export interface Gateway {
  /**
   * Publishes one event to one or several channels.
   *
   * @example
   * await gateway.publish({ channel: 'tenant:t1:updates', event_type: 'user.created', payload: { id: 'u7' } });
   */
  publish(request: PublishRequest): Promise<PublishResponse>;
  /** Recoverable history of a channel (offset > `since`, ascending). */
  history(channel: string, options?: { since?: number; limit?: number }): Promise<HistoryResponse>;
  /** Answers the gateway's HTTP routes; returns false for any other request. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Closes every matching live connection with 4003, on every node of the
   * deployment: this node's at once, the others' when the broker delivers the
   * request (a pub/sub round trip). Filters combine with AND; at least one is
   * required (else `INVALID_MESSAGE`). Resolves to the number closed on this
   * node; rejects with `UNAVAILABLE` (after closing this node's) when the
   * broker cannot carry the request to the other nodes.
   *
   * @example
   * await gateway.disconnect({ api_key_id: 'k_42' }); // revoked: its sockets close 4003 everywhere
   */
  disconnect(filter: DisconnectFilter): Promise<number>;
  /**
   * This node's connection registry, as its admin route `GET /api/connections`
   * lists it: in connection order, filtered by tenant and/or user (AND), at
   * most `limit` rows (1..1000, default 100) after `cursor` (the previous
   * page's `next_cursor`; `INVALID_MESSAGE` when it is not one).
   *
   * @example
   * const { connections, next_cursor } = gateway.connections({ tenant_id: 't1', limit: 50 });
   */
  connections(filter?: ConnectionFilter): ConnectionPage;
  /** Number of open WebSocket connections (authenticated or not). */
  readonly connectionCount: number;
  /** The broker in use. */
  readonly broker: Broker;
  /** Prometheus text of the gateway's metrics. */
  metrics(): Promise<string>;
  /**
   * Graceful shutdown: `/ready` turns 503 and upgrades are refused, then every
   * client is closed 1001 with `{"reconnect_after_ms":N}`, spread over
   * `connections × drainMsPerConnection` ms, at most `windowMs`
   * (default `drainMs`), then the broker stops. With `serveHttp`, later
   * requests and upgrades get 503 until the server is closed.
   */
  drain(windowMs?: number): Promise<void>;
  /** Immediate shutdown: closes every connection with 1001 now and stops the broker (then as after `drain`). */
  close(): Promise<void>;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates a gateway on an existing HTTP server.
 *
 * @example
 * const server = http.createServer(app);
 * const gateway = await createGateway({ server, auth: { jwt: { secret } }, adminKey });
 * server.listen(8080);
 * await gateway.publish({ channel: `tenant:${t}:updates`, event_type: 'user.created', payload: user });
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? createLogger();
  // First: a bad admin key throws before anything is started.
  const checkAdmin = createAdminCheck(
    options.adminKey,
    options.adminAuthFailureRate === undefined ? {} : { failureRate: options.adminAuthFailureRate },
  );
  const settings = {
    heartbeatMs: options.heartbeatMs ?? GATEWAY_DEFAULTS.heartbeatMs,
    authTimeoutMs: options.authTimeoutMs ?? GATEWAY_DEFAULTS.authTimeoutMs,
    baseline: options.baseline ?? GATEWAY_DEFAULTS.baseline,
    maxSubscriptions: options.maxSubscriptions ?? GATEWAY_DEFAULTS.maxSubscriptions,
    slowConsumerBytes: options.slowConsumerBytes ?? GATEWAY_DEFAULTS.slowConsumerBytes,
    maxReplayMs: options.maxReplayMs ?? GATEWAY_DEFAULTS.maxReplayMs,
    closeTimeoutMs: GATEWAY_DEFAULTS.closeTimeoutMs,
    rateLimit: options.rateLimit === undefined ? GATEWAY_DEFAULTS.rateLimit : options.rateLimit,
  };
  const paths = new Set(options.paths ?? GATEWAY_DEFAULTS.paths);
  const maxPublishBytes = options.maxPublishBytes ?? GATEWAY_DEFAULTS.maxPublishBytes;
  const idempotencyTtlMs = options.idempotencyTtlMs ?? GATEWAY_DEFAULTS.idempotencyTtlMs;
  const idleTimeoutMs = options.idleTimeoutMs ?? GATEWAY_DEFAULTS.idleTimeoutMs;
  const drainMs = options.drainMs ?? GATEWAY_DEFAULTS.drainMs;
  const limits = {
    ...(options.maxConnectionsPerTenant === undefined ? {} : { perTenant: options.maxConnectionsPerTenant }),
    ...(options.maxConnectionsPerUser === undefined ? {} : { perUser: options.maxConnectionsPerUser }),
  };
  const broker: Broker =
    options.broker ??
    new MemoryBroker({
      historySize: options.historySize ?? GATEWAY_DEFAULTS.historySize,
      historyTtlMs: options.historyTtlMs ?? GATEWAY_DEFAULTS.historyTtlMs,
    });
  // Without per-tenant or per-user limits there is nothing to count: no
  // Redis round trip per connect on a multi-node broker.
  const counting = limits.perTenant !== undefined || limits.perUser !== undefined;
  const counter: ConnectionCounter = !counting ? UNCOUNTED : (broker.connectionCounter ?? new LocalConnectionCounter());
  const admission = new Admission(
    {
      ...limits,
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      ...(options.maxUnauthenticatedConnections === undefined
        ? {}
        : { maxUnauthenticated: options.maxUnauthenticatedConnections }),
      ...(options.maxUnauthenticatedPerAddress === undefined
        ? {}
        : { maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress }),
    },
    counter,
  );
  const authenticator = new Authenticator(options.auth);
  const policy = new ChannelPolicy({
    ...(options.authorizers === undefined ? {} : { authorizers: options.authorizers }),
    allowPlatformAdmin: options.allowPlatformAdmin ?? false,
  });
  const originAllowed = createOriginCheck(
    options.allowedOrigins ?? [],
    options.production ?? process.env.NODE_ENV === 'production',
  );
  const hub = new Hub(broker, logger);
  // Insertion-ordered registry; `seq` gives stable cursors for paging.
  const connections = new Map<Connection, number>();
  let nextSeq = 1;
  let closing = false;

  // Sockets of the HTTP server from their accept until their upgrade arrives
  // (or they close): what a slow or stalled client holds (see httpServerOptions).
  const notUpgraded = new Set<Duplex>();
  // Listeners shared by every socket (`this` is the socket): a closure per
  // socket would stay registered, with its context, for the socket's life.
  function leaveNotUpgraded(this: Duplex): void {
    notUpgraded.delete(this);
  }
  const onSocket = (socket: Duplex): void => {
    notUpgraded.add(socket);
    socket.on('close', leaveNotUpgraded);
  };
  // An HTTPS server hands requests the TLS socket, not the raw one.
  const socketEvent = options.server instanceof TlsServer ? 'secureConnection' : 'connection';
  options.server.on(socketEvent, onSocket);

  const coalescer =
    options.coalesceWrites === false
      ? null
      : new Coalescer({
          delayMs: options.writeCoalesceMs ?? 0,
          maxDelayMs: options.coalesceMaxDelayMs ?? DEFAULT_COALESCE_MAX_DELAY_MS,
        });
  const metrics = new GatewayMetrics({
    ...(coalescer ? { coalescer: () => coalescer.stats } : {}),
    connectionStates() {
      const states: Record<string, number> = { authenticating: 0, open: 0, closing: 0 };
      for (const connection of connections.keys()) {
        const state = connection.state === 'closed' ? 'closing' : connection.state;
        states[state] = (states[state] ?? 0) + 1;
      }
      return states;
    },
    notUpgradedSockets: () => notUpgraded.size,
    subscriptions() {
      let total = 0;
      for (const connection of connections.keys()) total += connection.subscriptionCount;
      return total;
    },
    ...(options.metricsTenantLabel
      ? {
          tenantConnections() {
            const byTenant = new Map<string, number>();
            for (const connection of connections.keys()) {
              const tenant = connection.identity?.tenantId;
              if (tenant !== undefined) byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + 1);
            }
            return byTenant;
          },
        }
      : {}),
  });

  // Identifies this node's own control messages, which it has acted on already.
  const nodeId = randomUUID();
  const onControl = (message: ControlMessage): void => {
    if (message.origin === nodeId) return;
    switch (message.kind) {
      case 'disconnect': {
        let filter: DisconnectFilter;
        try {
          filter = checkedFilter(message.filter);
        } catch (error) {
          logger.warn({ err: toAlbatrossError(error).message }, 'cluster disconnect with a bad filter ignored');
          return;
        }
        const n = disconnectLocal(filter);
        logger.info({ ...filter, disconnected: n, from_node: message.origin }, 'cluster disconnect');
        return;
      }
      default: {
        const unexpected: never = message.kind;
        logger.warn({ kind: unexpected }, 'unknown control message ignored');
      }
    }
  };
  await broker.start((publication) => {
    metrics.publications += 1;
    hub.dispatch(publication);
    metrics.publishToSend.observe(Math.max(0, Date.now() - publication.ts) / 1000);
  }, onControl);

  // One timer per kind of deadline for every connection of the node.
  const deadlines = {
    auth: new DeadlineQueue<Connection>(
      (connection) => connection.authTimedOut(),
      () => performance.now(),
    ),
    expiry: new DeadlineQueue<Connection>((connection) => connection.expiryReached()),
  };

  const context: ConnectionContext = {
    authenticator,
    policy,
    hub,
    broker,
    logger,
    settings,
    metrics,
    deadlines,
    coalescer,
    async admit(connection, identity) {
      if (isRevoked(identity)) throw new AlbatrossError(ErrorCode.FORBIDDEN, 'credential revoked');
      const ticket = connection.ticket;
      if (!ticket) throw new AlbatrossError(ErrorCode.INTERNAL, 'connection has no admission ticket');
      await admission.promote(ticket, identity);
      // A ticket released meanwhile (the socket closed) gave its counts back already.
      if (ticket.kind === 'authenticated') connection.admitted = true;
    },
    onAuthenticated(connection) {
      metrics.connects.inc({ kind: connection.identity?.credential.kind ?? 'unknown' });
    },
    onClosed(connection, code, reason) {
      if (!connections.delete(connection)) return;
      connection.ticket?.release();
      metrics.disconnected(code);
      connection.logger.debug({ code, reason }, 'connection closed');
    },
  };

  const wss = new WebSocketServer({
    WebSocket: ConnectionSocket,
    noServer: true,
    maxPayload: options.maxFrameBytes ?? GATEWAY_DEFAULTS.maxFrameBytes,
    perMessageDeflate: options.perMessageDeflate ?? false,
    clientTracking: false,
  });

  const refuse = (req: IncomingMessage, socket: Duplex, error: AlbatrossError): void => {
    metrics.refusedUpgrades.inc({ code: error.code });
    if (error.code === ErrorCode.UNAUTHORIZED || error.code === ErrorCode.TOKEN_EXPIRED) {
      metrics.authFailures.inc({ reason: error.code });
    }
    logger.info({ url: redactUrl(req.url), code: error.code, reason: error.message }, 'upgrade refused');
    rejectUpgrade(socket, error);
  };

  /**
   * Refuses a browser's upgrade from an origin not allowed. A page never sees
   * an HTTP refusal's status or body (only close code 1006), so the handshake
   * completes and the socket is closed at once with 4003 and a reason naming
   * the origin and the setting; no frame is ever read from it, so nothing
   * reaches the gateway. Not a connection, but it holds an unauthenticated
   * admission slot until its socket closes.
   */
  const refuseOrigin = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const reason = originRefusal(String(req.headers.origin));
    metrics.refusedUpgrades.inc({ code: ErrorCode.FORBIDDEN });
    logger.warn(
      { url: redactUrl(req.url), origin: req.headers.origin, setting: 'allowed-origins', code: ErrorCode.FORBIDDEN },
      `upgrade refused: ${reason}`,
    );
    if (socket.destroyed) return;
    // Until it is gone the socket is an unauthenticated one like any other:
    // a faked Origin must not be a way around the unauthenticated share.
    let ticket: AdmissionTicket;
    try {
      ticket = admission.admitUnauthenticated(sourceKey(req.socket.remoteAddress));
    } catch (error) {
      refuse(req, socket, toAlbatrossError(error));
      return;
    }
    holdUntilClosed(socket, ticket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.close(CloseCode.FORBIDDEN, reason);
      // A peer that never answers the close: do not keep its socket.
      setTimeout(() => ws.terminate(), 5000).unref();
    });
  };

  /**
   * Holds `ticket` until `socket` closes, whichever way it ends (refused,
   * abandoned by ws after a bad handshake), so a slot is never leaked and
   * never released twice; an accepted connection takes the ticket over (see
   * `accept`) and releases it when it has closed.
   */
  const heldTickets = new Map<Duplex, AdmissionTicket>();
  function releaseHeldTicket(this: Duplex): void {
    const ticket = heldTickets.get(this);
    heldTickets.delete(this);
    ticket?.release();
  }
  const holdUntilClosed = (socket: Duplex, ticket: AdmissionTicket): void => {
    if (socket.destroyed) {
      ticket.release();
      return;
    }
    heldTickets.set(socket, ticket);
    socket.on('close', releaseHeldTicket);
  };

  const accept = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    identity: Identity | null,
    ticket: AdmissionTicket,
  ): void => {
    if (socket.destroyed) {
      ticket.release();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // From here `ws` owns the socket: its close ends the connection, which
      // releases the ticket, and it handles the socket's errors itself.
      heldTickets.delete(socket);
      socket.off('close', releaseHeldTicket);
      socket.off('error', onUpgradeSocketError);
      const connection = new Connection(ws as ConnectionSocket, context, identity);
      connection.ticket = ticket;
      if (identity) connection.admitted = true;
      connections.set(connection, nextSeq++);
      if (closing) connection.close(CloseCode.GOING_AWAY, JSON.stringify({ reconnect_after_ms: 0 }));
    });
  };

  // One listener for every upgrading socket, made once here: a closure made
  // inside onUpgrade would share its scope and keep the request (headers,
  // raw headers, URL) and the head alive for the socket's whole life, about
  // 1.5 KiB per idle connection (issue 14, item 5; found in a heap snapshot).
  const onUpgradeSocketError = (error: Error): void => logger.debug({ err: error }, 'upgrade socket error');
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Its head is complete: no longer an HTTP socket, whoever handles the upgrade.
    notUpgraded.delete(socket);
    socket.off('close', leaveNotUpgraded);
    const path = pathOf(req.url);
    if (!paths.has(path)) {
      // Not ours: an embedding app may handle it; the standalone server refuses it.
      if (options.serveHttp)
        refuse(req, socket, new AlbatrossError(ErrorCode.NOT_FOUND, `no WebSocket endpoint at ${path}`));
      return;
    }
    socket.on('error', onUpgradeSocketError);
    if (!originAllowed(req)) {
      refuseOrigin(req, socket, head);
      return;
    }
    if (closing) {
      refuse(req, socket, new AlbatrossError(ErrorCode.UNAVAILABLE, 'server is shutting down'));
      return;
    }
    // Reading the peer's address is a system call and an object kept on the
    // socket for its life: only done when a per-address cap needs it.
    const address = admission.countsAddresses ? sourceKey(req.socket.remoteAddress) : UNCOUNTED_ADDRESS;
    // Without a credential the slot is taken now (nothing to verify first);
    // with one, only after verification, so unverified credentials hold nothing.
    let credential: RequestCredential;
    let ticket: AdmissionTicket | null = null;
    try {
      credential = credentialOf(req);
      if (credential.kind === 'none') {
        ticket = admission.admitUnauthenticated(address);
        holdUntilClosed(socket, ticket);
      } else {
        admission.precheck(true, address);
      }
    } catch (error) {
      refuse(req, socket, toAlbatrossError(error));
      return;
    }
    // While the broker is down nothing could be delivered: fail fast, before the upgrade.
    broker
      .health()
      .then(async (health) => {
        if (health.status === 'down')
          throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'broker unavailable: retry later');
        switch (credential.kind) {
          case 'none':
            if (ticket) accept(req, socket, head, null, ticket);
            return;
          case 'invalid':
            throw new AlbatrossError(ErrorCode.UNAUTHORIZED, credential.reason);
          case 'token': {
            const identity = await authenticator.authenticate(credential.token);
            if (isRevoked(identity)) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'credential revoked');
            const admitted = await admission.admitAuthenticated(identity);
            holdUntilClosed(socket, admitted);
            accept(req, socket, head, identity, admitted);
            return;
          }
          default: {
            const unexpected: never = credential;
            throw new Error(`unexpected credential ${JSON.stringify(unexpected)}`);
          }
        }
      })
      .catch((error: unknown) => {
        ticket?.release();
        refuse(req, socket, toAlbatrossError(error));
      });
  };
  options.server.on('upgrade', onUpgrade);

  const heartbeatTimer = setInterval(() => {
    const frame = Buffer.from(encodeFrame({ type: 'heartbeat', ts: Date.now() }));
    const wire = textFrame(frame);
    for (const connection of connections.keys()) if (connection.welcomed) connection.sendShared(frame, wire);
  }, settings.heartbeatMs);
  heartbeatTimer.unref();

  // Half-open detection: ping peers silent for a third of the idle timeout,
  // drop those silent for the whole of it.
  const idleTimer = setInterval(
    () => {
      const now = Date.now();
      for (const connection of connections.keys()) {
        const silent = now - connection.lastSeen;
        if (silent >= idleTimeoutMs) {
          connection.logger.info({ silent_ms: silent }, 'idle connection dropped');
          connection.terminate();
        } else if (silent >= idleTimeoutMs / 3) {
          connection.ping();
        }
      }
    },
    Math.max(50, Math.min(idleTimeoutMs / 3, 10_000)),
  );
  idleTimer.unref();

  // Keys revoked lately (remembered by the authenticator, which also checks
  // token refreshes): a verification that was already in flight when the key
  // was revoked must not let its connection in afterwards.
  function isRevoked(identity: Identity): boolean {
    return authenticator.isRevoked(identity);
  }

  // Every node's verifier hears its own revocations: this one closes its own connections only.
  const unsubscribeRevocations = options.auth.apiKeys?.onRevoke?.((keyId) => {
    const n = disconnectLocal({ api_key_id: keyId });
    logger.info({ api_key_id: keyId, disconnected: n }, 'API key revoked');
  });

  /** The filter's three fields alone, each a non-empty string when present; at least one. */
  function checkedFilter(filter: DisconnectFilter): DisconnectFilter {
    const out: DisconnectFilter = {};
    for (const field of ['user_id', 'tenant_id', 'api_key_id', 'connection_id'] as const) {
      const value: unknown = filter?.[field];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value === '') {
        throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, `${field} must be a non-empty string`);
      }
      out[field] = value;
    }
    if (
      out.user_id === undefined &&
      out.tenant_id === undefined &&
      out.api_key_id === undefined &&
      out.connection_id === undefined
    ) {
      throw new AlbatrossError(
        ErrorCode.INVALID_MESSAGE,
        'at least one of user_id, tenant_id, api_key_id, connection_id is required',
      );
    }
    return out;
  }

  async function disconnect(request: DisconnectFilter): Promise<number> {
    const filter = checkedFilter(request);
    const count = disconnectLocal(filter);
    try {
      await broker.broadcast({ kind: 'disconnect', origin: nodeId, filter });
    } catch (error) {
      const cause = toAlbatrossError(error);
      logger.warn({ ...filter, disconnected: count, err: cause.message }, 'cluster disconnect not sent');
      throw new AlbatrossError(
        ErrorCode.UNAVAILABLE,
        `closed ${count} connection(s) on this node, but the other nodes could not be reached: ${cause.message}`,
        { cause: error },
      );
    }
    return count;
  }

  /** Closes this node's matching connections with 4003. */
  function disconnectLocal(filter: DisconnectFilter): number {
    let count = 0;
    for (const connection of connections.keys()) {
      const identity = connection.identity;
      if (!identity || connection.state !== 'open') continue;
      if (filter.connection_id !== undefined && connection.id !== filter.connection_id) continue;
      if (filter.user_id !== undefined && identity.userId !== filter.user_id) continue;
      if (filter.tenant_id !== undefined && identity.tenantId !== filter.tenant_id) continue;
      if (
        filter.api_key_id !== undefined &&
        (identity.credential.kind !== 'api_key' || identity.credential.keyId !== filter.api_key_id)
      ) {
        continue;
      }
      connection.sendError(ErrorCode.FORBIDDEN, 'credential revoked');
      connection.close(CloseCode.FORBIDDEN, ErrorCode.FORBIDDEN);
      count += 1;
    }
    return count;
  }

  async function publish(request: unknown): Promise<PublishResponse> {
    if (closing) throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'server is shutting down');
    const parsed = parsePublishRequest(request);
    if (!parsed.ok) throw new AlbatrossError(parsed.code, parsed.message);
    const body = parsed.request;
    const run = async (): Promise<PublishResponse> => {
      const channels = body.channels ?? (body.channel === undefined ? [] : [body.channel]);
      const input = {
        eventType: body.event_type,
        payloadJson: JSON.stringify(body.payload),
        ...(body.meta === undefined ? {} : { metaJson: JSON.stringify(body.meta) }),
      };
      const results = [];
      for (const channel of channels) results.push(await broker.publish(channel, input));
      return { results };
    };
    return body.idempotency_key === undefined
      ? run()
      : broker.idempotency.once(body.idempotency_key, idempotencyTtlMs, run);
  }

  async function health(): Promise<{ status: HealthCheck['status']; checks: Record<string, HealthCheck> }> {
    let brokerCheck: HealthCheck;
    try {
      brokerCheck = { ...(await broker.health()), kind: broker.kind };
    } catch (error) {
      brokerCheck = { status: 'down', kind: broker.kind, error: toAlbatrossError(error).message };
    }
    const lagMs = metrics.eventLoopP99Ms();
    const checks: Record<string, HealthCheck> = {
      broker: brokerCheck,
      // History lives in the broker: it is available exactly when the broker is.
      history: { status: brokerCheck.status, store: broker.kind },
      event_loop: { status: lagMs > 1000 ? 'degraded' : 'ok', lag_p99_ms: Math.round(lagMs * 100) / 100 },
    };
    if (closing) checks.gateway = { status: 'degraded', draining: true };
    const statuses = Object.values(checks).map((check) => check.status);
    const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
    return { status, checks };
  }

  function listConnections(filter: { tenant_id?: string; user_id?: string; limit: number; cursor?: number }): {
    connections: ConnectionInfo[];
    next_cursor: string | null;
  } {
    const out: ConnectionInfo[] = [];
    let last = 0;
    for (const [connection, seq] of connections) {
      if (filter.cursor !== undefined && seq <= filter.cursor) continue;
      const identity = connection.identity;
      if (filter.tenant_id !== undefined && identity?.tenantId !== filter.tenant_id) continue;
      if (filter.user_id !== undefined && identity?.userId !== filter.user_id) continue;
      if (out.length === filter.limit) return { connections: out, next_cursor: String(last) };
      out.push({
        connection_id: connection.id,
        state: connection.state,
        tenant_id: identity?.tenantId ?? null,
        user_id: identity?.userId ?? null,
        credential: identity?.credential.kind ?? null,
        subscriptions: connection.subscriptionCount,
        connected_at: new Date(connection.connectedAt).toISOString(),
        buffered_bytes: connection.bufferedAmount,
      });
      last = seq;
    }
    return { connections: out, next_cursor: null };
  }

  /** The public face of {@link listConnections}: checked limit and cursor, the same rows. */
  function connectionRegistry(filter: ConnectionFilter = {}): ConnectionPage {
    const limit = filter.limit ?? DEFAULT_CONNECTIONS_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CONNECTIONS_PAGE) {
      throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, `limit must be between 1 and ${MAX_CONNECTIONS_PAGE}`);
    }
    const query: { tenant_id?: string; user_id?: string; limit: number; cursor?: number } = { limit };
    if (filter.cursor !== undefined) {
      const cursor = /^\d{1,15}$/.test(filter.cursor) ? Number(filter.cursor) : Number.NaN;
      if (!Number.isSafeInteger(cursor)) throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'invalid cursor');
      query.cursor = cursor;
    }
    if (filter.tenant_id !== undefined) query.tenant_id = filter.tenant_id;
    if (filter.user_id !== undefined) query.user_id = filter.user_id;
    return listConnections(query);
  }

  const handleRequest = createHttpApi({
    logger,
    maxPublishBytes,
    checkAdmin,
    async isReady() {
      if (closing) return { ready: false, reason: 'shutting down' };
      const brokerHealth = await broker.health().catch(() => ({ status: 'down' as const }));
      return brokerHealth.status === 'down' ? { ready: false, reason: 'broker down' } : { ready: true };
    },
    health,
    publish,
    async historyBody(channel, since, limit) {
      const page = await broker.history(channel, since, limit);
      return buildHistoryBody(channel, page.position.epoch, page.position.offset, page.publications);
    },
    disconnect,
    listConnections,
    metrics: () => metrics.registry.metrics(),
    metricsContentType: metrics.registry.contentType,
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!handleRequest(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ code: ErrorCode.NOT_FOUND, message: 'not found' }));
    }
  };
  if (options.serveHttp) options.server.on('request', onRequest);

  const stoppedError = () => new AlbatrossError(ErrorCode.UNAVAILABLE, 'server is shut down');
  const answerStopped = (_req: IncomingMessage, res: ServerResponse): void =>
    sendError(res, stoppedError(), { connection: 'close' });
  const refuseStopped = (_req: IncomingMessage, socket: Duplex): void => {
    socket.on('error', onUpgradeSocketError);
    rejectUpgrade(socket, stoppedError());
  };

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      clearInterval(heartbeatTimer);
      clearInterval(idleTimer);
      deadlines.auth.clear();
      deadlines.expiry.clear();
      unsubscribeRevocations?.();
      authenticator.close();
      options.server.off('upgrade', onUpgrade);
      options.server.off(socketEvent, onSocket);
      notUpgraded.clear();
      if (options.serveHttp) {
        // The server is the gateway's alone, and it may keep listening after
        // a drain (until its owner closes it): with no listener left, Node
        // would leave every later request and upgrade waiting forever. Say
        // it is gone instead, so probes and clients move on to another node.
        options.server.off('request', onRequest);
        options.server.on('request', answerStopped);
        options.server.on('upgrade', refuseStopped);
      }
      await broker.close();
      metrics.stop();
    })();
    return stopped;
  };

  return {
    publish: (request) => publish(request),
    async history(channel, historyOptions = {}) {
      const page = await broker.history(channel, historyOptions.since ?? 0, historyOptions.limit ?? 100);
      return {
        channel,
        epoch: page.position.epoch,
        offset: page.position.offset,
        publications: page.publications.map((publication) => JSON.parse(publication.data.toString('utf8'))),
      };
    },
    handleRequest,
    disconnect,
    connections: connectionRegistry,
    get connectionCount() {
      return connections.size;
    },
    broker,
    metrics: () => metrics.registry.metrics(),
    async drain(windowMs = drainMs) {
      if (closing) return stop();
      closing = true;
      const list = [...connections.keys()];
      const maxWindowMs = windowMs;
      windowMs = drainWindowMs(list.length, maxWindowMs, options.drainMsPerConnection ?? DRAIN_MS_PER_CONNECTION);
      logger.info({ connections: list.length, window_ms: windowMs, max_window_ms: maxWindowMs }, 'draining');
      // Spread closes evenly over the window with jitter, and tell each client
      // a random back-off, so a deploy does not make every client reconnect at once.
      const closes = list.map(async (connection, index) => {
        const at = list.length <= 1 ? 0 : (windowMs * (index + Math.random())) / list.length;
        await sleep(Math.min(windowMs, at));
        const reconnectAfterMs = Math.floor(Math.random() * windowMs);
        connection.close(CloseCode.GOING_AWAY, JSON.stringify({ reconnect_after_ms: reconnectAfterMs }));
      });
      await Promise.all(closes);
      // Let queued frames and close handshakes flush, bounded.
      const deadline = Date.now() + Math.min(GATEWAY_DEFAULTS.closeTimeoutMs, Math.max(1000, windowMs));
      while (connections.size > 0 && Date.now() < deadline) await sleep(20);
      for (const connection of connections.keys()) connection.terminate();
      await stop();
    },
    async close() {
      closing = true;
      for (const connection of connections.keys()) {
        connection.close(CloseCode.GOING_AWAY, JSON.stringify({ reconnect_after_ms: 0 }));
      }
      await stop();
    },
  };
}
