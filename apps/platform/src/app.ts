import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { registerConsole } from '@albatross/console/serve';
import {
  createProjectionRunner,
  openEventStore,
  type ProjectionRunner,
  type SqlEventStore,
  waitForProjections,
} from '@albatross/cqrs';
import { DEFAULT_ADMIN_EMAIL } from '@albatross/platform-api';
import {
  type ChannelAuthorizer,
  createBroker,
  createGateway,
  createLogger,
  type Gateway,
  type Logger,
} from '@albatross/server';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { adminRoutes } from './admin/routes.js';
import { Authenticator } from './auth/authenticate.js';
import { type BootstrapResult, bootstrap } from './auth/bootstrap.js';
import { SigningKeys } from './auth/keys.js';
import { authRoutes } from './auth/routes.js';
import { TokenService } from './auth/tokens.js';
import type { PlatformContext, RevocationFilter } from './context.js';
import { frameworkErrors, installErrorHandlers } from './http/errors.js';
import { installAuthentication } from './http/kit.js';
import { openApiRoute, registerOpenApi } from './http/openapi.js';
import { pirepRoutes } from './pireps/routes.js';
import { readModelProjections } from './projections.js';
import { MemoryLruCache, type QueryCache, RedisQueryCache } from './readmodel/cache.js';
import { ensurePlatformTables, storeIdOf } from './readmodel/tables.js';
import { acceptIdentity, createPlatformAuthorizers } from './realtime/authorizers.js';
import { readModelDirectory } from './realtime/directory.js';
import { createPlatformRealtimeProjection, REALTIME_PROJECTION } from './realtime/projection.js';
import { createRevocationProjection, REVOCATION_PROJECTION } from './realtime/revocation.js';
import { tenantRoutes } from './tenants/routes.js';
import { userRoutes } from './users/routes.js';

/** Largest request body, bytes (bigger: 413 `MESSAGE_TOO_LARGE`). */
export const MAX_BODY_BYTES = 64 * 1024;
/** Longest a command's answer waits for the read models (then 503 `UNAVAILABLE`). */
export const READ_MODEL_WAIT_MS = 5_000;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Options of {@link startPlatform}. */
export interface PlatformOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Embedded store directory (PGlite), used without `databaseUrl` (default `./data`). */
  dataDir?: string;
  /** `postgres://…`: PostgreSQL instead of the embedded store. */
  databaseUrl?: string;
  /** `redis://…`: the Redis broker instead of the in-memory one (several nodes need it). */
  redisUrl?: string;
  /** An open store to use (tests share one); the platform does not close it. */
  store?: SqlEventStore;
  /** Run the read-model projections in this process (default true; false when `albatross worker` runs them). */
  runProjections?: boolean;
  /** Email of the bootstrap PlatformAdmin (default `admin@albatross.local`). */
  adminEmail?: string;
  /** Bearer key of the gateway's admin HTTP API (`/api/publish`, `/api/disconnect`); disabled without it. */
  adminKey?: string;
  /** Per-namespace channel authorizers of the gateway (`admin`, `platform`, `pirep`). */
  authorizers?: Readonly<Record<string, ChannelAuthorizer>>;
  logger?: Logger;
  /**
   * Trust `X-Forwarded-For` from these proxies (Fastify's `trustProxy`: `true`, addresses or CIDRs),
   * so the per-address login limit counts clients, not the load balancer. Default: trust nobody.
   */
  trustProxy?: boolean | string | string[];
  /** Query cache (default: Redis with `redisUrl`, else an in-memory LRU). */
  cache?: QueryCache;
}

/** A running platform node. */
export interface Platform {
  readonly app: FastifyInstance;
  readonly gateway: Gateway;
  readonly store: SqlEventStore;
  readonly context: PlatformContext;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** What this node's first start created (the one-time password), or null. */
  readonly bootstrap: BootstrapResult | null;
  close(): Promise<void>;
}

function loopbackUrl(host: string, port: number): string {
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
}

/**
 * Starts one platform node: store, projections, HTTP API and gateway on one
 * server. The single place where the modules are wired together.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger();
  const host = options.host ?? '127.0.0.1';
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    (await openEventStore({
      url: options.databaseUrl ?? options.dataDir ?? './data',
      onError: (error) => logger.error({ err: error }, 'event store connection error'),
    }));
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((error: unknown) => logger.warn({ err: error }, 'close failed'));
  };
  if (ownsStore) cleanups.push(() => store.close());
  try {
    await ensurePlatformTables(store);
    const keys = new SigningKeys(store);
    await keys.init();
    const sweep = () =>
      store.driver
        .query(`DELETE FROM platform_refresh_tokens WHERE expires_at < now() - interval '1 day'`)
        .catch((error: unknown) => logger.warn({ err: error }, 'refresh token sweep failed'));
    await sweep();
    // Expired refresh tokens are of no use: swept hourly so the table stays the size of the live sessions.
    const sweeper = setInterval(() => void sweep(), 60 * 60_000);
    sweeper.unref();
    cleanups.push(async () => clearInterval(sweeper));

    let runner: ProjectionRunner | undefined;
    if (options.runProjections ?? true) {
      runner = createProjectionRunner(store, readModelProjections, {
        onEvent: (event) => {
          if (event.type === 'parked' || event.type === 'retrying') logger.warn(event, `projection ${event.type}`);
        },
      });
      await runner.start();
      const started = runner;
      cleanups.push(() => started.stop());
    }

    let gateway: Gateway | undefined;
    const cache =
      options.cache ??
      (options.redisUrl === undefined
        ? new MemoryLruCache()
        : new RedisQueryCache(options.redisUrl, logger, `albatross:platform:${await storeIdOf(store)}:q:`));
    cleanups.push(() => cache.close());
    const context: PlatformContext = {
      store,
      keys,
      cache,
      logger,
      now: () => new Date(),
      waitForReadModels: (position) =>
        waitForProjections(
          store,
          readModelProjections.map((p) => p.name),
          position,
          { timeoutMs: READ_MODEL_WAIT_MS },
        ),
      revoke: (filter: RevocationFilter) => {
        // Cluster-wide: this node's connections close at once, the other nodes' through the broker.
        gateway
          ?.disconnect(filter)
          .then((closed) => logger.info({ ...filter, closed }, 'credential revoked: live connections closed'))
          .catch((error: unknown) => logger.warn({ ...filter, err: error }, 'credential revoked: disconnect failed'));
      },
    };

    const boot = await bootstrap(context, options.adminEmail ?? DEFAULT_ADMIN_EMAIL);

    const app = Fastify({
      logger: false,
      bodyLimit: MAX_BODY_BYTES,
      return503OnClosing: true,
      frameworkErrors,
      trustProxy: options.trustProxy ?? false,
      // The request id is the correlation id of the events a request writes: unique across nodes and
      // restarts, or the caller's own `X-Request-Id` when it is a sane one.
      requestIdHeader: false,
      genReqId: (req) => {
        const given = req.headers['x-request-id'];
        return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      },
    });
    app.addHook('onSend', async (request, reply) => {
      void reply.header('x-request-id', request.id);
    });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    installErrorHandlers(app, logger);
    await registerOpenApi(app);
    const authenticator = new Authenticator(context);
    const tokens = new TokenService(context);
    installAuthentication(app, authenticator);
    openApiRoute(app);
    await app.register(authRoutes(context, tokens));
    await app.register(tenantRoutes(context));
    await app.register(userRoutes(context, tokens));
    await app.register(pirepRoutes(context));
    await app.register(
      adminRoutes(context, {
        gateway: () => gateway,
        rebuildable: readModelProjections,
        neverReplay: [REALTIME_PROJECTION, REVOCATION_PROJECTION],
      }),
    );

    // The gateway's own HTTP routes (/health, /ready, /metrics, /api/publish, …) answer first.
    app.addHook('onRequest', async (request, reply) => {
      if (gateway?.handleRequest(request.raw, reply.raw)) reply.hijack();
    });
    // The built console at `/` (SPA fallback); the API, WebSocket and probes above stay untouched.
    registerConsole(app);

    await app.listen({ host, port: options.port ?? 8080 });
    cleanups.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    const broker = await createBroker({
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      historySize: 1000,
      historyTtlMs: 10 * 60_000,
      logger,
    });
    const directory = readModelDirectory(store.driver);
    gateway = await createGateway({
      server: app.server,
      broker,
      // Access tokens are verified with the platform's own published keys, as a standalone gateway would.
      auth: {
        jwt: { jwksUrl: `${loopbackUrl(host, port)}/.well-known/jwks.json`, jwksCooldownMs: 5_000 },
        apiKeys: authenticator.apiKeyVerifier(),
        accept: acceptIdentity(directory),
      },
      ...(options.adminKey === undefined ? {} : { adminKey: options.adminKey }),
      authorizers: options.authorizers ?? createPlatformAuthorizers(directory),
      allowPlatformAdmin: true,
      logger,
    });
    const started = gateway;
    // Runs first on close: connections go before the HTTP server stops.
    cleanups.push(() => started.close());

    // Side effects that need a gateway run on platform nodes (one owner at a
    // time across nodes): every domain event published once, revocations
    // closing live connections everywhere.
    const realtime = createProjectionRunner(store, [
      createPlatformRealtimeProjection((request) => started.publish(request)),
      createRevocationProjection({
        disconnect: (filter) => started.disconnect(filter),
        onRepeatError: (error) => logger.warn({ err: error }, 'repeated revocation disconnect failed'),
      }),
    ]);
    await realtime.start();
    cleanups.push(() => realtime.stop());

    return {
      app,
      gateway,
      store,
      context,
      port,
      url: loopbackUrl(host, port),
      bootstrap: boot,
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
