import type { Projection, SqlEventStore } from '@albatross/cqrs';
import { pirepsProjection } from './pireps/projection.js';
import { ensurePlatformTables } from './readmodel/tables.js';
import { tenantsProjection } from './tenants/projection.js';
import { usersProjection } from './users/projection.js';

/**
 * The platform's read-model projections: a command's answer waits until
 * all of them have passed its position (read-your-writes). A module adds
 * its own here.
 */
export const readModelProjections: readonly Projection[] = [tenantsProjection, usersProjection, pirepsProjection];

/**
 * What `albatross worker --projections @albatross/platform/projections`
 * runs: the read models (after making sure the platform's own tables
 * exist, as the projections bump the query-cache versions in them).
 */
export default async function projections(store: SqlEventStore): Promise<readonly Projection[]> {
  await ensurePlatformTables(store);
  return readModelProjections;
}
