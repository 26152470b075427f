import { type Role, Role as Roles } from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { Principal } from '../auth/principal.js';

/**
 * Every access rule of the platform, in one place. Two questions per
 * action: may the caller *see* the entity (if not: 404 `NOT_FOUND`, so ids
 * of other tenants and other pilots' PIREPs do not leak), and may they *do*
 * the action on it (if not: 403 `FORBIDDEN`).
 *
 * - PlatformAdmin: everything.
 * - TenantAdmin: their own tenant: its users with roles TenantAdmin or Pilot,
 *   those users' API keys, PIREP review. Cannot create tenants, change
 *   tenants, or grant PlatformAdmin.
 * - Pilot: their own profile, API keys and PIREPs; reads their own tenant.
 * - Operations (`/api/admin/…`: live connections, projections): PlatformAdmin only.
 */

export const isPlatformAdmin = (p: Principal) => p.roles.includes(Roles.PlatformAdmin);
export const isTenantAdmin = (p: Principal) => p.roles.includes(Roles.TenantAdmin);
export const isPilot = (p: Principal) => p.roles.includes(Roles.Pilot);

/** A user as the policy needs it. */
export interface UserRef {
  id: string;
  tenantId: string;
  roles: readonly string[];
}

/** A PIREP as the policy needs it. */
export interface PirepRef {
  tenantId: string;
  pilotId: string;
}

export function notFound(what: string): AlbatrossError {
  return new AlbatrossError(ErrorCode.NOT_FOUND, `${what} not found`);
}

export function forbidden(message: string): AlbatrossError {
  return new AlbatrossError(ErrorCode.FORBIDDEN, message);
}

// ---------------------------------------------------------------- tenants

/** The caller may see tenant `tenantId`: PlatformAdmins any, others their own. */
export function canSeeTenant(p: Principal, tenantId: string): boolean {
  return isPlatformAdmin(p) || p.tenantId === tenantId;
}

/** Which tenants a list shows: all (`null`) or the caller's own. */
export function tenantListScope(p: Principal): string | null {
  return isPlatformAdmin(p) ? null : p.tenantId;
}

export function assertCanCreateTenant(p: Principal): void {
  if (!isPlatformAdmin(p)) throw forbidden('only a PlatformAdmin creates tenants');
}

/** Rename, suspend, reactivate a visible tenant. */
export function assertCanChangeTenant(p: Principal, tenantId: string): void {
  if (!canSeeTenant(p, tenantId)) throw notFound(`tenant ${tenantId}`);
  if (!isPlatformAdmin(p)) throw forbidden('only a PlatformAdmin changes tenants');
}

// ---------------------------------------------------------------- users

/** The caller may see user `u`: PlatformAdmins any, TenantAdmins their tenant's users, anyone themself. */
export function canSeeUser(p: Principal, u: UserRef): boolean {
  return isPlatformAdmin(p) || p.userId === u.id || (isTenantAdmin(p) && p.tenantId === u.tenantId);
}

/** Which users a list shows. */
export function userListScope(p: Principal): { tenantId?: string; userId?: string } {
  if (isPlatformAdmin(p)) return {};
  if (isTenantAdmin(p)) return { tenantId: p.tenantId };
  return { userId: p.userId };
}

function assertGrantable(p: Principal, roles: readonly string[]): void {
  if (!isPlatformAdmin(p) && roles.includes(Roles.PlatformAdmin)) {
    throw forbidden('only a PlatformAdmin grants PlatformAdmin');
  }
}

/** Create a user with `roles` in tenant `tenantId` (the tenant must be visible). */
export function assertCanCreateUser(p: Principal, tenantId: string, roles: readonly string[]): void {
  if (!canSeeTenant(p, tenantId)) throw notFound(`tenant ${tenantId}`);
  if (!isPlatformAdmin(p) && !isTenantAdmin(p)) throw forbidden('only admins create users');
  assertGrantable(p, roles);
}

/** An admin of `u`: a PlatformAdmin, or a TenantAdmin of u's tenant when u is no PlatformAdmin. */
function administers(p: Principal, u: UserRef): boolean {
  if (isPlatformAdmin(p)) return true;
  return isTenantAdmin(p) && p.tenantId === u.tenantId && !u.roles.includes(Roles.PlatformAdmin);
}

/** Change `display_name` and/or `roles` of `u`. Anyone may rename themself; roles need an admin of u. */
export function assertCanUpdateUser(
  p: Principal,
  u: UserRef,
  change: { displayName: boolean; roles?: readonly string[] },
): void {
  if (!canSeeUser(p, u)) throw notFound(`user ${u.id}`);
  if (administers(p, u)) {
    if (change.roles) assertGrantable(p, change.roles);
    if (change.roles && p.userId === u.id && !isPlatformAdmin(p) && !change.roles.includes(Roles.TenantAdmin)) {
      // A TenantAdmin demoting themself would lock their tenant out of its admin; another admin must.
      throw forbidden('a TenantAdmin cannot remove their own TenantAdmin role');
    }
    return;
  }
  if (change.roles !== undefined) throw forbidden('changing roles needs an admin of this user');
  if (p.userId !== u.id) throw forbidden('only this user or their admins change this profile');
}

/** Deactivate or reactivate `u` (never oneself). */
export function assertCanChangeUserStatus(p: Principal, u: UserRef): void {
  if (!canSeeUser(p, u)) throw notFound(`user ${u.id}`);
  if (p.userId === u.id) throw forbidden('users cannot deactivate or reactivate themselves');
  if (!administers(p, u)) throw forbidden('only an admin of this user changes their status');
}

// ---------------------------------------------------------------- API keys

/** List, create and revoke the API keys of `u`: the user themself, or an admin of theirs. */
export function assertCanManageApiKeys(p: Principal, u: UserRef): void {
  if (!canSeeUser(p, u)) throw notFound(`user ${u.id}`);
  if (p.userId !== u.id && !administers(p, u)) throw forbidden('only this user or their admins manage their API keys');
}

// ---------------------------------------------------------------- PIREPs

/** The caller may see a PIREP: PlatformAdmins, its tenant's TenantAdmins, its pilot. */
export function canSeePirep(p: Principal, pirep: PirepRef): boolean {
  return isPlatformAdmin(p) || p.userId === pirep.pilotId || (isTenantAdmin(p) && p.tenantId === pirep.tenantId);
}

/** Which PIREPs a list shows. */
export function pirepListScope(p: Principal): { tenantId?: string; pilotId?: string } {
  if (isPlatformAdmin(p)) return {};
  if (isTenantAdmin(p)) return { tenantId: p.tenantId };
  return { pilotId: p.userId };
}

/** File a PIREP: pilots only. */
export function assertCanFilePirep(p: Principal): void {
  if (!isPilot(p)) throw forbidden('only pilots file PIREPs');
}

/** Amend a PIREP: its pilot only. */
export function assertCanAmendPirep(p: Principal, pirep: PirepRef): void {
  if (!canSeePirep(p, pirep)) throw notFound('PIREP');
  if (p.userId !== pirep.pilotId) throw forbidden('only its pilot amends a PIREP');
}

/** Approve or reject a PIREP: its tenant's TenantAdmins and PlatformAdmins, never its own pilot. */
export function assertCanReviewPirep(p: Principal, pirep: PirepRef): void {
  if (!canSeePirep(p, pirep)) throw notFound('PIREP');
  if (p.userId === pirep.pilotId) throw forbidden('pilots do not review their own PIREPs');
  if (!isPlatformAdmin(p) && !isTenantAdmin(p)) throw forbidden('only admins review PIREPs');
}

// ---------------------------------------------------------------- operations

/**
 * The operations endpoints (`/api/admin/…`: the connection registry, the
 * projections): PlatformAdmins only. Not entities of a tenant, so nothing
 * to hide: everyone else gets 403 `FORBIDDEN`.
 */
export function assertCanOperate(p: Principal): void {
  if (!isPlatformAdmin(p)) throw forbidden('only a PlatformAdmin operates the platform');
}

/** Role names a caller may hold, for docs and tests. */
export type { Role };
