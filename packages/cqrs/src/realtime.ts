import type { EventMeta, JsonValue, PublishRequest } from '@albatross/protocol';
import { AlbatrossError } from '@albatross/protocol';
import type { Projection } from './projection.js';
import type { StoredEvent } from './types.js';

/** Where one event goes and what viewers see of it; the domain decides. */
export interface RealtimeRoute {
  /** Channels to publish to, in one call (none: the event is not published). */
  channels: readonly string[];
  /** The entity's id (also put into `payload.id` when the payload has none). */
  entityId: string;
  /** What a viewer may see of the entity (default: the event's payload). */
  payload?: Record<string, JsonValue>;
  /** Fields this event changed (`meta.changed_fields`). */
  changedFields?: readonly string[];
}

/** Options of {@link createRealtimeProjection}. */
export interface RealtimeProjectionOptions {
  /** Projection name (default `realtime`); its checkpoint is its own. */
  name?: string;
  /** Event types to publish. */
  handles: readonly string[];
  /** The domain's routing: channels and visible payload of an event, or `null` to skip it. */
  route(event: StoredEvent): RealtimeRoute | null;
  /**
   * The gateway's publish: `gateway.publish` in one process, or a call to a
   * gateway node's `POST /api/publish` (or the Redis broker) when the worker
   * runs apart. It must honour `idempotency_key`.
   */
  publish(request: PublishRequest): Promise<unknown>;
  /** `meta.source` (default `albatross`). */
  source?: string;
}

/**
 * A projection whose read model is the realtime stream: each event becomes
 * one publication to the channels the domain routes it to. It publishes with
 * `idempotency_key` = the event's position, so a batch replayed after a
 * crash (published, but its checkpoint not yet committed) publishes nothing
 * twice as long as the replay falls inside the gateway's idempotency window.
 */
export function createRealtimeProjection(options: RealtimeProjectionOptions): Projection {
  const source = options.source ?? 'albatross';
  return {
    name: options.name ?? 'realtime',
    handles: options.handles,
    // Live notifications are about what happens from now on.
    startFrom: 'end',
    async apply(event) {
      const route = options.route(event);
      if (route === null || route.channels.length === 0) return;
      const base =
        route.payload ??
        (typeof event.payload === 'object' && event.payload !== null && !Array.isArray(event.payload)
          ? (event.payload as Record<string, JsonValue>)
          : { value: event.payload });
      const payload: Record<string, JsonValue> = { id: route.entityId, ...base };
      const meta: EventMeta = { source, entity_id: route.entityId, position: event.position };
      if (event.actorId !== null) meta.user_id = event.actorId;
      if (event.correlationId !== null) meta.correlation_id = event.correlationId;
      if (route.changedFields !== undefined) meta.changed_fields = [...route.changedFields];
      const request: PublishRequest = {
        event_type: event.type,
        payload,
        meta,
        idempotency_key: String(event.position),
        ...(route.channels.length === 1 ? { channel: route.channels[0] as string } : { channels: [...route.channels] }),
      };
      try {
        await options.publish(request);
      } catch (error) {
        // Surfaces in the runner's retry/park path and in `status`.
        throw error instanceof AlbatrossError
          ? error
          : new AlbatrossError(
              'UNAVAILABLE',
              `publish of ${event.type} at ${event.position} failed: ${error instanceof Error ? error.message : String(error)}`,
              { cause: error },
            );
      }
    },
  };
}
