/**
 * The platform's roles. A user holds one or more; the RBAC module of the
 * platform decides what each may do. Names are a contract: add, never rename.
 */
export const Role = {
  /** Everything, across every tenant. */
  PlatformAdmin: 'PlatformAdmin',
  /** Their own tenant: its users (TenantAdmin or Pilot), their API keys, PIREP review. */
  TenantAdmin: 'TenantAdmin',
  /** Their own profile, API keys and PIREPs; reads their own tenant. */
  Pilot: 'Pilot',
} as const;

/** One of the platform's roles. */
export type Role = (typeof Role)[keyof typeof Role];

/** Every role, in order of decreasing privilege. */
export const ROLES: readonly Role[] = [Role.PlatformAdmin, Role.TenantAdmin, Role.Pilot];

/** True when `value` names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Id of the tenant that first start creates; PlatformAdmins belong to it. */
export const PLATFORM_TENANT_ID = 'platform';
/** Name of the tenant that first start creates. */
export const PLATFORM_TENANT_NAME = 'platform';
/** Email of the bootstrap PlatformAdmin unless `ALBATROSS_ADMIN_EMAIL` says otherwise. */
export const DEFAULT_ADMIN_EMAIL = 'admin@albatross.local';
