import type { SqlEventStore } from '@albatross/cqrs';
import type { Logger } from '@albatross/server';
import type { SigningKeys } from './auth/keys.js';
import type { QueryCache } from './readmodel/cache.js';

/** Who a live connection belongs to, for closing it when a credential is revoked. */
export interface RevocationFilter {
  user_id?: string;
  tenant_id?: string;
  api_key_id?: string;
}

/**
 * What every domain module of the platform works with. Built once in
 * `app.ts` and handed to each module's routes.
 */
export interface PlatformContext {
  readonly store: SqlEventStore;
  readonly keys: SigningKeys;
  readonly cache: QueryCache;
  readonly logger: Logger;
  /**
   * Read-your-writes: resolves once every read-model projection has passed
   * `position` (bounded; `UNAVAILABLE` after the timeout).
   */
  waitForReadModels(position: number): Promise<void>;
  /**
   * Closes the live connections of a revoked credential (4003). `app.ts`
   * points it at the gateway's `disconnect`, which applies cluster-wide.
   */
  revoke(filter: RevocationFilter): void;
  /** Clock (tests inject one). */
  now(): Date;
}
