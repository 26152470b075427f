import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
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
import { Authenticator, credentialOf } from './auth/authenticator.js';
import type { Identity } from './auth/identity.js';
import type { JwtOptions } from './auth/jwt.js';
import { buildHistoryBody } from './broker/event-frame.js';
import { MemoryBroker } from './broker/memory.js';
import type { Broker } from './broker/types.js';
import { type ChannelAuthorizer, ChannelPolicy, DEFAULT_BASELINE } from './channels/policy.js';
import { Connection, type ConnectionContext } from './connection/connection.js';
import { AlbatrossError, toAlbatrossError } from './errors.js';
import { Hub } from './fanout/hub.js';
import { createAdminCheck } from './http/admin-auth.js';
import { createHttpApi } from './http/api.js';
import { rejectUpgrade } from './http/respond.js';
import { createLogger, type Logger, redactUrl } from './log/logger.js';

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
  idempotencyTtlMs: 5 * 60_000,
  closeTimeoutMs: 30_000,
  baseline: DEFAULT_BASELINE as readonly string[],
} as const;

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The HTTP server to attach to; the gateway handles upgrades on its `paths`. */
  server: Server;
  /** Upgrade paths (default `/ws` and `/api/ws`). */
  paths?: readonly string[];
  /** Credentials the gateway accepts: JWT key sources and/or an API key verifier. */
  auth: { jwt?: JwtOptions; apiKeys?: ApiKeyVerifier };
  /** Bearer key of the admin HTTP API (publish, history); the admin API is disabled without it. */
  adminKey?: string;
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
  maxFrameBytes?: number;
  maxSubscriptions?: number;
  slowConsumerBytes?: number;
  idempotencyTtlMs?: number;
  /**
   * Also answer the gateway's HTTP routes on the server's `request` event and
   * 404 everything else (the standalone server). Embedded apps leave this off
   * and mount {@link Gateway.handleRequest} themselves.
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
  /** Number of open WebSocket connections (authenticated or not). */
  readonly connectionCount: number;
  /** The broker in use. */
  readonly broker: Broker;
  /** Closes every connection with 1001 and stops the broker. */
  close(): Promise<void>;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

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
  const settings = {
    heartbeatMs: options.heartbeatMs ?? GATEWAY_DEFAULTS.heartbeatMs,
    authTimeoutMs: options.authTimeoutMs ?? GATEWAY_DEFAULTS.authTimeoutMs,
    baseline: options.baseline ?? GATEWAY_DEFAULTS.baseline,
    maxSubscriptions: options.maxSubscriptions ?? GATEWAY_DEFAULTS.maxSubscriptions,
    slowConsumerBytes: options.slowConsumerBytes ?? GATEWAY_DEFAULTS.slowConsumerBytes,
    closeTimeoutMs: GATEWAY_DEFAULTS.closeTimeoutMs,
  };
  const paths = new Set(options.paths ?? GATEWAY_DEFAULTS.paths);
  const maxPublishBytes = options.maxPublishBytes ?? GATEWAY_DEFAULTS.maxPublishBytes;
  const idempotencyTtlMs = options.idempotencyTtlMs ?? GATEWAY_DEFAULTS.idempotencyTtlMs;
  const broker =
    options.broker ??
    new MemoryBroker({
      historySize: options.historySize ?? GATEWAY_DEFAULTS.historySize,
      historyTtlMs: options.historyTtlMs ?? GATEWAY_DEFAULTS.historyTtlMs,
    });
  const authenticator = new Authenticator(options.auth);
  const policy = new ChannelPolicy({
    ...(options.authorizers === undefined ? {} : { authorizers: options.authorizers }),
    allowPlatformAdmin: options.allowPlatformAdmin ?? false,
  });
  const hub = new Hub(broker, logger);
  const connections = new Set<Connection>();
  let closing = false;

  await broker.start((publication) => hub.dispatch(publication));

  const context: ConnectionContext = {
    authenticator,
    policy,
    hub,
    broker,
    logger,
    settings,
    onAuthenticated() {},
    onClosed(connection, code, reason) {
      connections.delete(connection);
      logger.debug({ connection_id: connection.id, code, reason }, 'connection closed');
    },
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes ?? GATEWAY_DEFAULTS.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });

  const accept = (req: IncomingMessage, socket: Duplex, head: Buffer, identity: Identity | null): void => {
    if (socket.destroyed) return;
    if (closing) {
      rejectUpgrade(socket, new AlbatrossError(ErrorCode.UNAVAILABLE, 'server is shutting down'));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new Connection(ws, context, identity);
      connections.add(connection);
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = pathOf(req.url);
    if (!paths.has(path)) {
      // Not ours: an embedding app may handle it; the standalone server refuses it.
      if (options.serveHttp)
        rejectUpgrade(socket, new AlbatrossError(ErrorCode.NOT_FOUND, `no WebSocket endpoint at ${path}`));
      return;
    }
    socket.on('error', (error) => logger.debug({ err: error }, 'upgrade socket error'));
    if (closing) {
      rejectUpgrade(socket, new AlbatrossError(ErrorCode.UNAVAILABLE, 'server is shutting down'));
      return;
    }
    const credential = credentialOf(req);
    switch (credential.kind) {
      case 'none':
        accept(req, socket, head, null);
        return;
      case 'invalid':
        logger.info({ url: redactUrl(req.url), reason: credential.reason }, 'upgrade refused');
        rejectUpgrade(socket, new AlbatrossError(ErrorCode.UNAUTHORIZED, credential.reason));
        return;
      case 'token':
        authenticator.authenticate(credential.token).then(
          (identity) => accept(req, socket, head, identity),
          (error: unknown) => {
            const normalised = toAlbatrossError(error);
            logger.info({ url: redactUrl(req.url), code: normalised.code }, 'upgrade refused');
            rejectUpgrade(socket, normalised);
          },
        );
        return;
      default: {
        const unexpected: never = credential;
        throw new Error(`unexpected credential ${JSON.stringify(unexpected)}`);
      }
    }
  };
  options.server.on('upgrade', onUpgrade);

  const heartbeatTimer = setInterval(() => {
    const frame = encodeFrame({ type: 'heartbeat', ts: Date.now() });
    for (const connection of connections) if (connection.state === 'open') connection.sendRaw(frame);
  }, settings.heartbeatMs);
  heartbeatTimer.unref();

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

  const historyPage = (channel: string, since: number, limit: number) => broker.history(channel, since, limit);

  const handleRequest = createHttpApi({
    logger,
    maxPublishBytes,
    checkAdmin: createAdminCheck(options.adminKey),
    async isReady() {
      if (closing) return { ready: false, reason: 'shutting down' };
      const health = await broker.health();
      return health.status === 'down' ? { ready: false, reason: 'broker down' } : { ready: true };
    },
    publish,
    async historyBody(channel, since, limit) {
      const page = await historyPage(channel, since, limit);
      return buildHistoryBody(channel, page.position.epoch, page.position.offset, page.publications);
    },
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!handleRequest(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ code: ErrorCode.NOT_FOUND, message: 'not found' }));
    }
  };
  if (options.serveHttp) options.server.on('request', onRequest);

  return {
    publish: (request) => publish(request),
    async history(channel, historyOptions = {}) {
      const page = await historyPage(channel, historyOptions.since ?? 0, historyOptions.limit ?? 100);
      return {
        channel,
        epoch: page.position.epoch,
        offset: page.position.offset,
        publications: page.publications.map((publication) => JSON.parse(publication.data.toString('utf8'))),
      };
    },
    handleRequest,
    get connectionCount() {
      return connections.size;
    },
    broker,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(heartbeatTimer);
      options.server.off('upgrade', onUpgrade);
      if (options.serveHttp) options.server.off('request', onRequest);
      for (const connection of connections)
        connection.close(CloseCode.GOING_AWAY, JSON.stringify({ reconnect_after_ms: 0 }));
      await broker.close();
    },
  };
}
