import { parsePlatformChannel, Role } from '@albatross/platform-api';
import type { ChannelAuthorizer, Identity } from '@albatross/server';

/**
 * What the authorizers need to know about a subscriber, from the read model
 * (never from the token alone: roles granted or taken away, a deactivated
 * user or a suspended tenant count from the moment they are projected).
 */
export interface SubscriberRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
  /** False once the user is deactivated or their tenant suspended. */
  readonly active: boolean;
}

/** Read-model lookups behind the channel authorizers. */
export interface RealtimeDirectory {
  /** The user as the read model has them, or null when unknown. */
  user(id: string): Promise<SubscriberRecord | null>;
  /** Owner of a PIREP, or null when there is none. */
  pirepOwner(id: string): Promise<{ tenantId: string; pilotId: string } | null>;
}

/**
 * May `user` see everything of tenant `tenantId` that its admins see?
 * PlatformAdmins everywhere; TenantAdmins in their own tenant.
 */
function administers(user: SubscriberRecord, tenantId: string): boolean {
  if (user.roles.includes(Role.PlatformAdmin)) return true;
  return user.roles.includes(Role.TenantAdmin) && user.tenantId === tenantId;
}

/**
 * The gateway's authorizers for the platform's own namespaces, backed by the
 * read model:
 * - `admin:{tid}:updates`: TenantAdmins of `tid`, PlatformAdmins;
 * - `platform:tenants`: PlatformAdmins;
 * - `pirep:{id}`: its pilot, its tenant's admins, PlatformAdmins.
 * Anything else in those namespaces, an unknown or inactive user, or an
 * identity whose tenant differs from the user's record is refused. A refusal
 * is the gateway's `FORBIDDEN` whether or not the PIREP exists, so the
 * channel does not reveal which ids exist.
 */
export function createPlatformAuthorizers(directory: RealtimeDirectory): Record<string, ChannelAuthorizer> {
  const subscriber = async (identity: Identity): Promise<SubscriberRecord | null> => {
    const user = await directory.user(identity.userId);
    if (!user?.active || user.tenantId !== identity.tenantId) return null;
    return user;
  };
  const authorize: ChannelAuthorizer = async ({ identity, channel }) => {
    const parsed = parsePlatformChannel(channel.name);
    if (parsed === null) return false;
    switch (parsed.kind) {
      case 'admin': {
        const user = await subscriber(identity);
        return user !== null && administers(user, parsed.tenantId);
      }
      case 'platform_tenants': {
        const user = await subscriber(identity);
        return user?.roles.includes(Role.PlatformAdmin) === true;
      }
      case 'pirep': {
        const [user, owner] = await Promise.all([subscriber(identity), directory.pirepOwner(parsed.pirepId)]);
        if (user === null || owner === null) return false;
        return owner.pilotId === user.id || administers(user, owner.tenantId);
      }
      case 'user_updates':
      case 'user_apikeys':
      case 'tenant':
        return false; // the gateway's own rules handle `user:` and `tenant:`
      default: {
        const unexpected: never = parsed;
        return unexpected;
      }
    }
  };
  return { admin: authorize, platform: authorize, pirep: authorize };
}
