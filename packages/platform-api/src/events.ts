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
