import { createRealtimeProjection, type Projection, type RealtimeRoute, type StoredEvent } from '@albatross/cqrs';
import { PLATFORM_EVENT_TYPES } from '@albatross/platform-api';
import type { PublishRequest } from '@albatross/protocol';

/** Routes the events of one aggregate; `null` when an event is not published. */
export type EventRouter = (event: StoredEvent) => RealtimeRoute | null;

/** Name of the realtime projection (its own checkpoint). */
export const REALTIME_PROJECTION = 'realtime';

/**
 * The realtime projection of the platform: every domain event becomes ONE
 * publish to all the channels its router names, with `idempotency_key` =
 * the event's position (a replay after a crash publishes nothing twice),
 * `event_type` = the domain event's type, and `meta.changed_fields`,
 * `meta.user_id` (the actor) and `meta.correlation_id` always present
 * (null when the event has none), as the console's schema expects.
 *
 * @param routers - one per aggregate, tried in order; the first non-null route wins.
 * @param publish - `gateway.publish` in-process, or a gateway node's HTTP publish from a worker.
 */
export function createPlatformRealtimeProjection(
  routers: readonly EventRouter[],
  publish: (request: PublishRequest) => Promise<unknown>,
): Projection {
  return createRealtimeProjection({
    name: REALTIME_PROJECTION,
    handles: PLATFORM_EVENT_TYPES,
    source: 'platform',
    route(event) {
      for (const router of routers) {
        const found = router(event);
        if (found) return { ...found, changedFields: found.changedFields ?? [] };
      }
      return null;
    },
    publish(request) {
      const meta = request.meta ?? {};
      return publish({
        ...request,
        // `null` keeps the keys present for clients that validate them; the
        // gateway takes any JSON object as meta.
        meta: {
          ...meta,
          user_id: meta.user_id ?? (null as unknown as string),
          correlation_id: meta.correlation_id ?? (null as unknown as string),
          changed_fields: meta.changed_fields ?? [],
        },
      });
    },
  });
}
