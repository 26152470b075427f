import {
  type Projection,
  parkedEvents,
  projectionStatus,
  rebuildProjection,
  type SqlEventStore,
} from '@albatross/cqrs';
import {
  ConnectionListQuerySchema,
  ConnectionPageSchema,
  DisconnectRequestSchema,
  DisconnectResponseSchema,
  ProjectionListSchema,
  ProjectionNameParamsSchema,
  type ProjectionStatus,
  RebuildResultSchema,
} from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { Gateway } from '@albatross/server';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { PlatformContext } from '../context.js';
import { AUTHED, errorResponses, principal } from '../http/kit.js';
import { assertCanOperate } from '../rbac/policy.js';

/** Parked events shown per projection (the count covers all of them). */
export const PARKED_EVENTS_SHOWN = 20;

/** What the operations routes need beyond the context. */
export interface AdminRoutesOptions {
  /** The node's gateway; undefined until it has started (then 503 `UNAVAILABLE`). */
  gateway(): Gateway | undefined;
  /** Projections that keep read models: the only ones a rebuild may replay. */
  rebuildable: readonly Projection[];
  /**
   * Projections with side effects (publishing to the gateway, closing
   * connections): replaying them would publish every event again, so a
   * rebuild is refused with 409 `INVALID_STATE`.
   */
  neverReplay: readonly string[];
}

function liveGateway(options: AdminRoutesOptions): Gateway {
  const gateway = options.gateway();
  if (!gateway) throw new AlbatrossError(ErrorCode.UNAVAILABLE, 'the gateway is not started yet');
  return gateway;
}

async function statusOf(
  store: SqlEventStore,
  options: AdminRoutesOptions,
  row: Awaited<ReturnType<typeof projectionStatus>>[number],
): Promise<ProjectionStatus> {
  const parked = row.parked === 0 ? [] : await parkedEvents(store, row.name, PARKED_EVENTS_SHOWN);
  return {
    name: row.name,
    position: row.position,
    head: row.head,
    lag: row.lag,
    status: row.status,
    owner: row.owner,
    last_error: row.lastError,
    retry_count: row.retryCount,
    parked: row.parked,
    parked_events: parked.map((event) => ({
      position: event.position,
      stream_id: event.streamId,
      type: event.type,
      error: event.error,
      attempts: event.attempts,
      parked_at: event.parkedAt,
    })),
    rebuildable: options.rebuildable.some((p) => p.name === row.name),
    updated_at: row.updatedAt,
  };
}

/**
 * `/api/admin/…`: the operations page's endpoints (PlatformAdmin only).
 * The connection registry is the answering node's (the gateway keeps no
 * cluster-wide one); a disconnect applies on every node.
 */
export function adminRoutes(ctx: PlatformContext, options: AdminRoutesOptions) {
  return async function register(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    app.get('/api/admin/connections', {
      schema: {
        tags: ['operations'],
        summary: "This node's live WebSocket connections (PlatformAdmin)",
        security,
        querystring: ConnectionListQuerySchema,
        response: { 200: ConnectionPageSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        assertCanOperate(principal(request));
        const { limit, cursor, tenant_id, user_id } = request.query;
        const page = liveGateway(options).connections({
          limit,
          ...(cursor === undefined ? {} : { cursor }),
          ...(tenant_id === undefined ? {} : { tenant_id }),
          ...(user_id === undefined ? {} : { user_id }),
        });
        return { items: page.connections, next_cursor: page.next_cursor };
      },
    });

    app.post('/api/admin/connections/disconnect', {
      schema: {
        tags: ['operations'],
        summary: 'Close the matching live connections on every node with 4003 (PlatformAdmin)',
        security,
        body: DisconnectRequestSchema,
        response: { 200: DisconnectResponseSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        const caller = principal(request);
        assertCanOperate(caller);
        const { tenant_id, user_id, connection_id } = request.body;
        const disconnected = await liveGateway(options).disconnect({
          ...(tenant_id === undefined ? {} : { tenant_id }),
          ...(user_id === undefined ? {} : { user_id }),
          ...(connection_id === undefined ? {} : { connection_id }),
        });
        ctx.logger.info(
          { actor_id: caller.userId, tenant_id, user_id, connection_id, disconnected },
          'admin disconnect',
        );
        return { disconnected };
      },
    });

    app.get('/api/admin/projections', {
      schema: {
        tags: ['operations'],
        summary: "Every projection's position, lag against the store's head, and parked events (PlatformAdmin)",
        security,
        response: { 200: ProjectionListSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        assertCanOperate(principal(request));
        const rows = await projectionStatus(ctx.store);
        return { items: await Promise.all(rows.map((row) => statusOf(ctx.store, options, row))) };
      },
    });

    app.post('/api/admin/projections/:name/rebuild', {
      schema: {
        tags: ['operations'],
        summary: 'Rebuild a read-model projection from the first event, then swap it in (PlatformAdmin)',
        security,
        params: ProjectionNameParamsSchema,
        response: { 200: RebuildResultSchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request) => {
        const caller = principal(request);
        assertCanOperate(caller);
        const { name } = request.params;
        if (options.neverReplay.includes(name)) {
          throw new AlbatrossError(
            ErrorCode.INVALID_STATE,
            `projection ${name} publishes side effects and must never replay`,
          );
        }
        const projection = options.rebuildable.find((p) => p.name === name);
        if (!projection) throw new AlbatrossError(ErrorCode.NOT_FOUND, `projection ${name} not found`);
        ctx.logger.info({ actor_id: caller.userId, projection: name }, 'projection rebuild started');
        // Refused with INVALID_STATE by cqrs while another rebuild of it runs anywhere.
        const result = await rebuildProjection(ctx.store, projection);
        ctx.logger.info({ actor_id: caller.userId, ...result }, 'projection rebuilt');
        return result;
      },
    });
  };
}
