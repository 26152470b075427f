/** Limits on concurrent connections per tenant and per user (undefined: unlimited). */
export interface ConnectionLimits {
  readonly perTenant?: number;
  readonly perUser?: number;
}

/** Which limit refused a connection, or `ok`. */
export type AcquireResult = 'ok' | 'tenant' | 'user';

/**
 * Counts live connections per tenant and per user. The in-process counter
 * covers one node; a broker that spans nodes can supply a shared one.
 */
export interface ConnectionCounter {
  /** Counts one more connection unless a limit is reached. */
  acquire(tenantId: string, userId: string, limits: ConnectionLimits): Promise<AcquireResult>;
  /** Releases one connection counted by `acquire`. */
  release(tenantId: string, userId: string): void;
}

/** Single-node {@link ConnectionCounter}. */
export class LocalConnectionCounter implements ConnectionCounter {
  private readonly tenants = new Map<string, number>();
  private readonly users = new Map<string, number>();

  async acquire(tenantId: string, userId: string, limits: ConnectionLimits): Promise<AcquireResult> {
    const tenantCount = this.tenants.get(tenantId) ?? 0;
    const userCount = this.users.get(userId) ?? 0;
    if (limits.perTenant !== undefined && tenantCount >= limits.perTenant) return 'tenant';
    if (limits.perUser !== undefined && userCount >= limits.perUser) return 'user';
    this.tenants.set(tenantId, tenantCount + 1);
    this.users.set(userId, userCount + 1);
    return 'ok';
  }

  release(tenantId: string, userId: string): void {
    decrement(this.tenants, tenantId);
    decrement(this.users, userId);
  }

  /** Current count for a tenant (tests, metrics). */
  tenantCount(tenantId: string): number {
    return this.tenants.get(tenantId) ?? 0;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const count = map.get(key) ?? 0;
  if (count <= 1) map.delete(key);
  else map.set(key, count - 1);
}
