import type { Projection, StoredEvent } from '@albatross/cqrs';
import { ApiKeyDomainEventType, PlatformEventType } from '@albatross/platform-api';
import type { DisconnectFilter } from '@albatross/server';
import { entityIdOf } from '../tenants/projection.js';

/** Name of the revocation projection (its own checkpoint). */
export const REVOCATION_PROJECTION = 'platform_revocation';

/** Stored event types after which live connections must close. */
export const REVOKING_EVENT_TYPES = [
  ApiKeyDomainEventType.Revoked,
  PlatformEventType.UserDeactivated,
  PlatformEventType.TenantSuspended,
] as const;

/**
 * Which connections an event closes, or `null` when it closes none: a
 * revoked key's, a deactivated user's, a suspended tenant's.
 */
export type RevocationRule = (event: StoredEvent) => DisconnectFilter | null;

/**
 * The platform's rule: a key's revocation (`user.apikey_revoked`, published
 * as `apikey.revoked`) closes that key's connections (`payload.key_id`),
 * `user.deactivated` the user's,
 * `tenant.suspended` the tenant's; the ids come from the stream (`user-…`,
 * `tenant-…`), so the rule does not depend on the payload's other fields.
 */
export const revocationFilter: RevocationRule = (event) => {
  switch (event.type) {
    case ApiKeyDomainEventType.Revoked: {
      const keyId = (event.payload as { key_id?: unknown } | null)?.key_id;
      return typeof keyId === 'string' && keyId !== '' ? { api_key_id: keyId } : null;
    }
    case PlatformEventType.UserDeactivated:
      return { user_id: entityIdOf(event.streamId) };
    case PlatformEventType.TenantSuspended:
      return { tenant_id: entityIdOf(event.streamId) };
    default:
      return null;
  }
};

/** Options of {@link createRevocationProjection}. */
export interface RevocationProjectionOptions {
  /**
   * Closes matching connections on every node: `gateway.disconnect` in a
   * platform process, or a gateway on the shared broker in a worker.
   */
  disconnect(filter: DisconnectFilter): Promise<unknown>;
  /** The rule (default {@link revocationFilter}). */
  rule?: RevocationRule;
  /**
   * The same disconnect is sent again this long after the first, ms
   * (default 2000; 0: never). A connection whose credential was verified
   * just before the read model recorded the revocation (its verification
   * was in flight) is closed by the second one.
   */
  repeatAfterMs?: number;
  /** Told about a repeat that failed (the first one's failure goes to the runner's retry). */
  onRepeatError?(error: unknown): void;
}

/**
 * A side-effect projection: after an API key is revoked, a user
 * deactivated or a tenant suspended, their live connections close 4003 on
 * every node through the gateway's cluster-wide disconnect. It starts at
 * the store's head (past revocations closed their connections when they
 * happened) and a replayed event only closes what is already closed.
 */
export function createRevocationProjection(options: RevocationProjectionOptions): Projection {
  const rule = options.rule ?? revocationFilter;
  const repeatAfterMs = options.repeatAfterMs ?? 2000;
  return {
    name: REVOCATION_PROJECTION,
    handles: REVOKING_EVENT_TYPES,
    startFrom: 'end',
    async apply(event) {
      const filter = rule(event);
      if (filter === null) return;
      await options.disconnect(filter);
      if (repeatAfterMs > 0) {
        setTimeout(() => {
          options.disconnect(filter).catch((error: unknown) => options.onRepeatError?.(error));
        }, repeatAfterMs).unref();
      }
    },
  };
}
