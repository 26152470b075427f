/** Limits on concurrent connections per tenant and per user (undefined: unlimited). */
export interface ConnectionLimits {
  readonly perTenant?: number;
  readonly perUser?: number;
}

/** Which limit refused a connection, or `ok`. */
export type AcquireResult = 'ok' | 'tenant' | 'user';

/**
 * Counts live connections per tenant and per user. A user is identified by
 * the pair (tenant, user): the same `sub` in two tenants is two users, so
 * `--max-connections-per-user` counts per (tenant, user) on every counter.
 * The in-process counter covers one node; a broker that spans nodes can
 * supply a shared one.
 */
export interface ConnectionCounter {
  /** Counts one more connection unless a limit is reached. */
  acquire(tenantId: string, userId: string, limits: ConnectionLimits): Promise<AcquireResult>;
  /** Releases one connection counted by `acquire`. */
  release(tenantId: string, userId: string): void;
}

/** Counts of one tenant: its total and each of its users. */
interface TenantCount {
  total: number;
  readonly users: Map<string, number>;
}

/** Single-node {@link ConnectionCounter}. */
export class LocalConnectionCounter implements ConnectionCounter {
  private readonly tenants = new Map<string, TenantCount>();

  async acquire(tenantId: string, userId: string, limits: ConnectionLimits): Promise<AcquireResult> {
    const tenant = this.tenants.get(tenantId);
    const tenantCount = tenant?.total ?? 0;
    const userCount = tenant?.users.get(userId) ?? 0;
    if (limits.perTenant !== undefined && tenantCount >= limits.perTenant) return 'tenant';
    if (limits.perUser !== undefined && userCount >= limits.perUser) return 'user';
    if (tenant) {
      tenant.total += 1;
      tenant.users.set(userId, userCount + 1);
    } else {
      this.tenants.set(tenantId, { total: 1, users: new Map([[userId, 1]]) });
    }
    return 'ok';
  }

  release(tenantId: string, userId: string): void {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) return;
    const userCount = tenant.users.get(userId);
    if (userCount === undefined) return; // not counted here: never let a stray release drift the tenant total
    if (userCount <= 1) tenant.users.delete(userId);
    else tenant.users.set(userId, userCount - 1);
    tenant.total -= 1;
    if (tenant.total <= 0) this.tenants.delete(tenantId);
  }

  /** Current count for a tenant (tests, metrics). */
  tenantCount(tenantId: string): number {
    return this.tenants.get(tenantId)?.total ?? 0;
  }
}
