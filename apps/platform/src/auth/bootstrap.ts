import { DEFAULT_ADMIN_EMAIL, PLATFORM_TENANT_ID, PLATFORM_TENANT_NAME, Role } from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { PlatformContext } from '../context.js';
import { createUser } from '../users/service.js';

/** What the first start created (only the node that created it gets this). */
export interface BootstrapResult {
  email: string;
  password: string;
  userId: string;
}

/**
 * First start on an empty store: creates the tenant `platform` and a
 * PlatformAdmin with a random one-time password, in one atomic append that
 * expects the tenant's stream not to exist, so of two nodes starting
 * together exactly one creates them. Returns null when the store had them.
 */
export async function bootstrap(
  ctx: PlatformContext,
  adminEmail = DEFAULT_ADMIN_EMAIL,
): Promise<BootstrapResult | null> {
  if (await ctx.store.getStream(`tenant-${PLATFORM_TENANT_ID}`)) return null;
  try {
    const created = await createUser(
      ctx,
      { tenantId: PLATFORM_TENANT_ID, email: adminEmail, displayName: 'Platform admin', roles: [Role.PlatformAdmin] },
      { correlationId: 'bootstrap' },
      { createTenantNamed: PLATFORM_TENANT_NAME },
    );
    await ctx.waitForReadModels(created.position);
    return { email: adminEmail.toLowerCase(), password: created.initialPassword ?? '', userId: created.id };
  } catch (error) {
    if (error instanceof AlbatrossError && error.code === ErrorCode.ALREADY_EXISTS) return null;
    throw error;
  }
}
