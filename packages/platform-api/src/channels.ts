import { parseChannel } from '@albatross/protocol';

/**
 * Channel names of the platform's realtime events. One event is published
 * once to several of these (see docs/platform.md for who may subscribe).
 */

/** Own profile and own PIREPs of user `uid` (baseline: the user themself). */
export function userUpdatesChannel(uid: string): string {
  return `user:${uid}:updates`;
}

/** Metadata of the API keys of user `uid` (baseline: the user themself). */
export function userApiKeysChannel(uid: string): string {
  return `user:${uid}:apikeys`;
}

/** Tenant-level changes every member of tenant `tid` may see (renamed, suspended). */
export function tenantChannel(tid: string): string {
  return `tenant:${tid}:updates`;
}

/** Everything a TenantAdmin of `tid` sees: users, their keys' metadata, PIREPs. */
export function adminChannel(tid: string): string {
  return `admin:${tid}:updates`;
}

/** Tenants created, renamed, suspended, reactivated: PlatformAdmins only. */
export const PLATFORM_TENANTS_CHANNEL = 'platform:tenants';

/** One PIREP: its pilot, its tenant's admins, PlatformAdmins. */
export function pirepChannel(id: string): string {
  return `pirep:${id}`;
}

/** A platform channel name, recognised. */
export type PlatformChannel =
  | { kind: 'user_updates'; userId: string }
  | { kind: 'user_apikeys'; userId: string }
  | { kind: 'tenant'; tenantId: string }
  | { kind: 'admin'; tenantId: string }
  | { kind: 'platform_tenants' }
  | { kind: 'pirep'; pirepId: string };

/**
 * Recognises one of the platform's channel names; `null` for anything else
 * (an authorizer refuses those).
 *
 * @example
 * parsePlatformChannel('admin:t1:updates'); // { kind: 'admin', tenantId: 't1' }
 */
export function parsePlatformChannel(name: string): PlatformChannel | null {
  const parsed = parseChannel(name);
  if (!parsed) return null;
  const [first, second] = parsed.segments;
  const n = parsed.segments.length;
  switch (parsed.namespace) {
    case 'user':
      if (n === 2 && first && second === 'updates') return { kind: 'user_updates', userId: first };
      if (n === 2 && first && second === 'apikeys') return { kind: 'user_apikeys', userId: first };
      return null;
    case 'tenant':
      return n === 2 && first && second === 'updates' ? { kind: 'tenant', tenantId: first } : null;
    case 'admin':
      return n === 2 && first && second === 'updates' ? { kind: 'admin', tenantId: first } : null;
    case 'platform':
      return n === 1 && first === 'tenants' ? { kind: 'platform_tenants' } : null;
    case 'pirep':
      return n === 1 && first ? { kind: 'pirep', pirepId: first } : null;
    default:
      return null;
  }
}
