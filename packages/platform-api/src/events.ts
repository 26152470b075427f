/**
 * Event type names of the platform's domain events. The same names are the
 * `event_type` of the realtime publications, so a client can switch on them.
 * A contract: add, never rename.
 */
export const PlatformEventType = {
  TenantCreated: 'tenant.created',
  TenantRenamed: 'tenant.renamed',
  TenantSuspended: 'tenant.suspended',
  TenantReactivated: 'tenant.reactivated',
  UserCreated: 'user.created',
  UserUpdated: 'user.updated',
  UserPasswordChanged: 'user.password_changed',
  UserDeactivated: 'user.deactivated',
  UserReactivated: 'user.reactivated',
  ApiKeyCreated: 'apikey.created',
  ApiKeyRevoked: 'apikey.revoked',
  PirepSubmitted: 'pirep.submitted',
  PirepAmended: 'pirep.amended',
  PirepApproved: 'pirep.approved',
  PirepRejected: 'pirep.rejected',
} as const;

/** One of the platform's event type names. */
export type PlatformEventType = (typeof PlatformEventType)[keyof typeof PlatformEventType];

/** Every event type name. */
export const PLATFORM_EVENT_TYPES: readonly PlatformEventType[] = Object.values(PlatformEventType);

/**
 * API keys live in the user aggregate, and the event store names an
 * aggregate's events after it, so in the store they are `user.apikey_created`
 * and `user.apikey_revoked`; their publications carry `apikey.created` and
 * `apikey.revoked`. Every other domain event is published under its own name.
 */
export const ApiKeyDomainEventType = {
  Created: 'user.apikey_created',
  Revoked: 'user.apikey_revoked',
} as const;

/** Stream that reserves a user's email: `user_email-<sha256 of the lower-case email>`. */
export const EMAIL_RESERVATION_CATEGORY = 'user_email';

/** The realtime `event_type` of a stored event's type, or `null` for events that are never published. */
export function realtimeEventTypeOf(storedType: string): PlatformEventType | null {
  if (storedType === ApiKeyDomainEventType.Created) return PlatformEventType.ApiKeyCreated;
  if (storedType === ApiKeyDomainEventType.Revoked) return PlatformEventType.ApiKeyRevoked;
  // A password change is private: nothing a viewer may see changed.
  if (storedType === PlatformEventType.UserPasswordChanged) return null;
  return (PLATFORM_EVENT_TYPES as readonly string[]).includes(storedType) ? (storedType as PlatformEventType) : null;
}

/** Stream categories: a stream id is `<category>-<entity id>`. */
export const StreamCategory = {
  Tenant: 'tenant',
  User: 'user',
  Pirep: 'pirep',
} as const;

/** One of the stream categories. */
export type StreamCategory = (typeof StreamCategory)[keyof typeof StreamCategory];

/** The stream id of an entity. */
export function streamIdOf(category: StreamCategory, id: string): string {
  return `${category}-${id}`;
}
