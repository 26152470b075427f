import type { RealtimeRoute, StoredEvent } from '@albatross/cqrs';
import { adminChannel, PlatformEventType, pirepChannel, userUpdatesChannel } from '@albatross/platform-api';
import type { JsonValue } from '@albatross/protocol';
import { entityIdOf } from '../tenants/projection.js';
import type { PirepAmendedPayload, PirepReviewedPayload, PirepSubmittedPayload } from './aggregate.js';

/**
 * Where a PIREP event goes: its pilot (`user:{pilot}:updates`), its
 * tenant's admins (`admin:{tid}:updates`, also open to PlatformAdmins) and
 * whoever watches that one PIREP (`pirep:{id}`). Every field of a PIREP is
 * visible to all of them, so the payload is the same on every channel.
 */
export function routePirepEvent(event: StoredEvent): RealtimeRoute | null {
  const id = entityIdOf(event.streamId);
  const common = { version: event.streamVersion, updated_at: event.recordedAt };
  switch (event.type) {
    case PlatformEventType.PirepSubmitted: {
      const p = event.payload as unknown as PirepSubmittedPayload;
      const payload = { ...p, ...common, created_at: event.recordedAt };
      return route(
        id,
        p,
        payload,
        Object.keys(p).filter((field) => field !== 'tenant_id' && field !== 'pilot_id'),
      );
    }
    case PlatformEventType.PirepAmended: {
      const p = event.payload as unknown as PirepAmendedPayload;
      const payload = { tenant_id: p.tenant_id, pilot_id: p.pilot_id, ...p.changes, ...common };
      return route(id, p, payload, Object.keys(p.changes));
    }
    case PlatformEventType.PirepApproved:
    case PlatformEventType.PirepRejected: {
      const p = event.payload as unknown as PirepReviewedPayload;
      const payload = {
        tenant_id: p.tenant_id,
        pilot_id: p.pilot_id,
        status: p.status,
        review_comment: p.comment,
        reviewed_by: p.reviewer_id,
        reviewed_at: event.recordedAt,
        ...common,
      };
      return route(id, p, payload, ['status', 'review_comment', 'reviewed_by', 'reviewed_at']);
    }
    default:
      return null;
  }
}

function route(
  id: string,
  owner: { tenant_id: string; pilot_id: string },
  payload: Record<string, unknown>,
  changedFields: readonly string[],
): RealtimeRoute {
  return {
    channels: [userUpdatesChannel(owner.pilot_id), adminChannel(owner.tenant_id), pirepChannel(id)],
    entityId: id,
    payload: payload as Record<string, JsonValue>,
    changedFields,
  };
}
