import { useQuery } from '@tanstack/react-query';
import type { Me, Role } from '../api/contract.js';
import { useServices, useTokens } from '../services.js';

/** Query key of the signed-in user's profile. */
export const meKey = ['me'] as const;

/** The signed-in user (`GET /api/me`). */
export function useMe() {
  const { api } = useServices();
  const tokens = useTokens();
  return useQuery({
    queryKey: meKey,
    queryFn: () => api.me(),
    enabled: tokens !== null && !tokens.mustChangePassword,
    staleTime: 30_000,
  });
}

/** Whether `me` holds `role`. */
export function hasRole(me: Me | undefined, role: Role): boolean {
  return me?.roles.includes(role) ?? false;
}

/** Whether `me` may administer users of a tenant. */
export function isAdmin(me: Me | undefined): boolean {
  return hasRole(me, 'PlatformAdmin') || hasRole(me, 'TenantAdmin');
}
