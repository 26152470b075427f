import type { RealtimeRoute, StoredEvent } from '@albatross/cqrs';
import {
  ApiKeyDomainEventType,
  adminChannel,
  PLATFORM_TENANTS_CHANNEL,
  PlatformEventType,
  tenantChannel,
  userApiKeysChannel,
  userUpdatesChannel,
} from '@albatross/platform-api';
import type { JsonValue } from '@albatross/protocol';
import { entityIdOf } from '../tenants/projection.js';

/**
 * Routing of tenant, user and API-key events to channels, and what viewers
 * see of them. Never published: password hashes, key hashes, the
 * password-changed event (nothing a viewer may see changed).
 *
 * - tenants: `platform:tenants` (PlatformAdmins); renamed, suspended and
 *   reactivated also `tenant:{tid}:updates` (every member);
 * - users: `user:{uid}:updates` (themself) and `admin:{tid}:updates`;
 * - API keys: `user:{uid}:apikeys` (their owner) and `admin:{tid}:updates`.
 *
 * User events other than `user.created` do not carry the user's tenant (the
 * event's own tenant is the actor's), so it is passed in: `tenantOfUser`
 * was resolved before routing (see `realtime/projection.ts`).
 */
export function routeEntityEvent(
  event: StoredEvent,
  tenantOfUser: (userId: string) => string | undefined,
): RealtimeRoute | null {
  const id = entityIdOf(event.streamId);
  const p = (event.payload ?? {}) as Record<string, JsonValue>;
  const stamp = { version: event.streamVersion, updated_at: event.recordedAt };
  switch (event.type) {
    case PlatformEventType.TenantCreated:
      return {
        channels: [PLATFORM_TENANTS_CHANNEL],
        entityId: id,
        payload: { name: p.name ?? null, status: 'active', ...stamp, created_at: event.recordedAt },
        changedFields: ['name', 'status'],
      };
    case PlatformEventType.TenantRenamed:
      return tenantRoute(id, { name: p.name ?? null, ...stamp }, ['name']);
    case PlatformEventType.TenantSuspended:
      return tenantRoute(id, { status: 'suspended', ...stamp }, ['status']);
    case PlatformEventType.TenantReactivated:
      return tenantRoute(id, { status: 'active', ...stamp }, ['status']);
    case PlatformEventType.UserCreated: {
      const tenantId = String(p.tenant_id);
      return userRoute(
        id,
        tenantId,
        {
          tenant_id: tenantId,
          email: p.email ?? null,
          display_name: p.display_name ?? null,
          roles: p.roles ?? [],
          status: 'active',
          must_change_password: p.must_change_password === true,
          ...stamp,
          created_at: event.recordedAt,
        },
        ['email', 'display_name', 'roles', 'status'],
      );
    }
    case PlatformEventType.UserUpdated: {
      const changed = ['display_name', 'roles'].filter((field) => Object.hasOwn(p, field));
      const visible: Record<string, JsonValue> = {};
      for (const field of changed) visible[field] = p[field] as JsonValue;
      return userRoute(id, tenantOfUser(id), { ...visible, ...stamp }, changed);
    }
    case PlatformEventType.UserDeactivated:
      return userRoute(id, tenantOfUser(id), { status: 'deactivated', ...stamp }, ['status']);
    case PlatformEventType.UserReactivated:
      return userRoute(id, tenantOfUser(id), { status: 'active', ...stamp }, ['status']);
    case ApiKeyDomainEventType.Created:
      return apiKeyRoute(
        id,
        tenantOfUser(id),
        String(p.key_id),
        {
          user_id: id,
          name: p.name ?? null,
          prefix: p.prefix ?? null,
          created_at: event.recordedAt,
          revoked_at: null,
        },
        ['name', 'prefix', 'created_at'],
      );
    case ApiKeyDomainEventType.Revoked:
      return apiKeyRoute(id, tenantOfUser(id), String(p.key_id), { user_id: id, revoked_at: event.recordedAt }, [
        'revoked_at',
      ]);
    default:
      return null; // user.password_changed, and anything this code does not know
  }
}

function tenantRoute(id: string, payload: Record<string, JsonValue>, changed: string[]): RealtimeRoute {
  return { channels: [PLATFORM_TENANTS_CHANNEL, tenantChannel(id)], entityId: id, payload, changedFields: changed };
}

function userRoute(
  id: string,
  tenantId: string | undefined,
  payload: Record<string, JsonValue>,
  changed: string[],
): RealtimeRoute {
  const channels = [userUpdatesChannel(id)];
  if (tenantId !== undefined) channels.push(adminChannel(tenantId));
  return {
    channels,
    entityId: id,
    payload: tenantId === undefined ? payload : { tenant_id: tenantId, ...payload },
    changedFields: changed,
  };
}

function apiKeyRoute(
  userId: string,
  tenantId: string | undefined,
  keyId: string,
  payload: Record<string, JsonValue>,
  changed: string[],
): RealtimeRoute {
  const channels = [userApiKeysChannel(userId)];
  if (tenantId !== undefined) channels.push(adminChannel(tenantId));
  return { channels, entityId: keyId, payload, changedFields: changed };
}
