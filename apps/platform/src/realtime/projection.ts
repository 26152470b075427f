import { createRealtimeProjection, type Projection, type RealtimeRoute, type StoredEvent } from '@albatross/cqrs';
import { ApiKeyDomainEventType, PlatformEventType, realtimeEventTypeOf } from '@albatross/platform-api';
import { AlbatrossError, type PublishRequest } from '@albatross/protocol';
import { PIREP_EVENT_TYPES } from '../pireps/aggregate.js';
import { routePirepEvent } from '../pireps/realtime.js';
import { entityIdOf } from '../tenants/projection.js';
import { routeEntityEvent } from './routes.js';

/** Name of the realtime projection (its own checkpoint). */
export const REALTIME_PROJECTION = 'platform_realtime';

/** Stored event types the realtime projection publishes (password changes never are). */
export const REALTIME_EVENT_TYPES: readonly string[] = [
  PlatformEventType.TenantCreated,
  PlatformEventType.TenantRenamed,
  PlatformEventType.TenantSuspended,
  PlatformEventType.TenantReactivated,
  PlatformEventType.UserCreated,
  PlatformEventType.UserUpdated,
  PlatformEventType.UserDeactivated,
  PlatformEventType.UserReactivated,
  ApiKeyDomainEventType.Created,
  ApiKeyDomainEventType.Revoked,
  ...PIREP_EVENT_TYPES,
];

/** Users whose tenant this process knows; a user's tenant never changes. Bounded. */
const MAX_KNOWN_USERS = 10_000;

/** Routes one stored event: PIREPs by their own router, everything else by the entity router. */
export function routePlatformEvent(event: StoredEvent, tenantOfUser: (userId: string) => string | undefined) {
  return event.type.startsWith('pirep.') ? routePirepEvent(event) : routeEntityEvent(event, tenantOfUser);
}

/**
 * The realtime projection of the platform: every domain event becomes ONE
 * publish to all the channels it is routed to (`@albatross/cqrs`'s realtime
 * projection, so `idempotency_key` = the event's position and a replay
 * after a crash publishes nothing twice), with `event_type` the published
 * name (`apikey.revoked`, not the stored `user.apikey_revoked`), and
 * `meta.changed_fields`, `meta.user_id` (the actor) and
 * `meta.correlation_id` always present (null when the event has none).
 *
 * @param publish - `gateway.publish`; the gateway spreads it to every node through its broker.
 */
export function createPlatformRealtimeProjection(publish: (request: PublishRequest) => Promise<unknown>): Projection {
  const tenants = new Map<string, string>();
  const remember = (userId: string, tenantId: string) => {
    if (tenants.size >= MAX_KNOWN_USERS) tenants.clear();
    tenants.set(userId, tenantId);
  };

  const inner = createRealtimeProjection({
    name: REALTIME_PROJECTION,
    handles: REALTIME_EVENT_TYPES,
    source: 'platform',
    route(event): RealtimeRoute | null {
      return routePlatformEvent(event, (userId) => tenants.get(userId));
    },
    publish(request) {
      const eventType = realtimeEventTypeOf(request.event_type);
      if (eventType === null) {
        throw new AlbatrossError('INTERNAL', `event ${request.event_type} has a route but no published name`);
      }
      const meta = request.meta ?? {};
      return publish({
        ...request,
        event_type: eventType,
        // The keys stay present for clients that validate them; the gateway takes any JSON object as meta.
        meta: {
          ...meta,
          user_id: meta.user_id ?? (null as unknown as string),
          correlation_id: meta.correlation_id ?? (null as unknown as string),
          changed_fields: meta.changed_fields ?? [],
        },
      });
    },
  });

  return {
    ...inner,
    async apply(event, context) {
      // The route is synchronous: resolve the user's tenant first (from their stream, authoritative).
      if (event.streamId.startsWith('user-')) {
        const userId = entityIdOf(event.streamId);
        if (event.type === PlatformEventType.UserCreated) {
          remember(userId, String((event.payload as { tenant_id?: unknown }).tenant_id));
        } else if (!tenants.has(userId)) {
          // Inside the batch's transaction, on its connection: the store's own
          // readStream would wait for a second connection (PGlite has one).
          const [first] = await context.tx.query<{ tenant_id: unknown }>(
            `SELECT payload->>'tenant_id' AS tenant_id FROM albatross_events
              WHERE stream_id = $1 AND stream_version = 1`,
            [event.streamId],
          );
          if (typeof first?.tenant_id === 'string') remember(userId, first.tenant_id);
        }
      }
      return inner.apply(event, context);
    },
  };
}
