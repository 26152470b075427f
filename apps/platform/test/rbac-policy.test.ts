import { describe, expect, it } from 'vitest';
import type { Principal } from '../src/auth/principal.js';
import {
  assertCanAmendPirep,
  assertCanFilePirep,
  assertCanOperate,
  assertCanReviewPirep,
  canSeePirep,
  pirepListScope,
} from '../src/rbac/policy.js';

/** The PIREP rules of the RBAC module (the HTTP matrix covers tenants, users and API keys). */

const who = (userId: string, tenantId: string, roles: Principal['roles']): Principal => ({
  userId,
  tenantId,
  roles,
  mustChangePassword: false,
  credential: { kind: 'jwt' },
});

const platformAdmin = who('pa', 'platform', ['PlatformAdmin']);
const adminA = who('ta', 'A', ['TenantAdmin']);
const adminB = who('tb', 'B', ['TenantAdmin']);
const pilot = who('p1', 'A', ['Pilot']);
const otherPilot = who('p2', 'A', ['Pilot']);
const pirep = { tenantId: 'A', pilotId: 'p1' };

function code(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

describe('PIREP rules', () => {
  it('who sees a PIREP: its pilot, its tenant’s admins, PlatformAdmins; nobody else', () => {
    expect(canSeePirep(platformAdmin, pirep)).toBe(true);
    expect(canSeePirep(adminA, pirep)).toBe(true);
    expect(canSeePirep(pilot, pirep)).toBe(true);
    expect(canSeePirep(adminB, pirep)).toBe(false);
    expect(canSeePirep(otherPilot, pirep)).toBe(false);
  });

  it('filing is for pilots', () => {
    expect(code(() => assertCanFilePirep(pilot))).toBe('ok');
    expect(code(() => assertCanFilePirep(adminA))).toBe('FORBIDDEN');
  });

  it('amending is for its pilot: 404 to those who cannot see it, 403 to admins who can', () => {
    expect(code(() => assertCanAmendPirep(pilot, pirep))).toBe('ok');
    expect(code(() => assertCanAmendPirep(otherPilot, pirep))).toBe('NOT_FOUND');
    expect(code(() => assertCanAmendPirep(adminB, pirep))).toBe('NOT_FOUND');
    expect(code(() => assertCanAmendPirep(adminA, pirep))).toBe('FORBIDDEN');
  });

  it('reviewing is for its tenant’s admins and PlatformAdmins, never its own pilot', () => {
    expect(code(() => assertCanReviewPirep(adminA, pirep))).toBe('ok');
    expect(code(() => assertCanReviewPirep(platformAdmin, pirep))).toBe('ok');
    expect(code(() => assertCanReviewPirep(pilot, pirep))).toBe('FORBIDDEN');
    expect(code(() => assertCanReviewPirep(otherPilot, pirep))).toBe('NOT_FOUND');
    expect(code(() => assertCanReviewPirep(adminB, pirep))).toBe('NOT_FOUND');
    const adminPilot = who('p1', 'A', ['Pilot', 'TenantAdmin']);
    expect(code(() => assertCanReviewPirep(adminPilot, pirep))).toBe('FORBIDDEN');
  });

  it('list scopes', () => {
    expect(pirepListScope(platformAdmin)).toEqual({});
    expect(pirepListScope(adminA)).toEqual({ tenantId: 'A' });
    expect(pirepListScope(pilot)).toEqual({ pilotId: 'p1' });
  });
});

describe('operations rules', () => {
  it('only PlatformAdmins operate the platform; TenantAdmins (even of several roles) and Pilots are FORBIDDEN', () => {
    expect(code(() => assertCanOperate(platformAdmin))).toBe('ok');
    expect(code(() => assertCanOperate(adminA))).toBe('FORBIDDEN');
    expect(code(() => assertCanOperate(pilot))).toBe('FORBIDDEN');
    expect(code(() => assertCanOperate(who('x', 'A', ['TenantAdmin', 'Pilot'])))).toBe('FORBIDDEN');
  });
});
