import { isRole, type Role } from '@albatross/platform-api';

/** Who is calling, as established by their credential and the read model. */
export interface Principal {
  userId: string;
  tenantId: string;
  roles: readonly Role[];
  mustChangePassword: boolean;
  credential: { kind: 'jwt' } | { kind: 'api_key'; keyId: string };
}

/** The roles of a read-model row that are known roles. */
export function knownRoles(value: unknown): Role[] {
  const list = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return Array.isArray(list) ? list.filter(isRole) : [];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every authenticated route. */
    principal?: Principal;
  }
}
