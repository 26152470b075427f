/**
 * `@albatross/cqrs`: the event-sourcing core of Albatross. An event store
 * on PostgreSQL (`pg`) or embedded PostgreSQL (PGlite) with one SQL dialect,
 * aggregates as pure functions with a command handler, upcasters,
 * projections with exactly-once checkpoints and the runner that keeps them
 * live, and a realtime projection that publishes events to the gateway.
 */

export * from './aggregate.js';
export * from './driver.js';
export { createPgDriver, type PgDriverOptions } from './drivers/pg.js';
export { createPgliteDriver, type PgliteDriverOptions } from './drivers/pglite.js';
export { MIGRATIONS, type Migration, migrate } from './migrations.js';
export * from './projection.js';
export * from './realtime.js';
export * from './rebuild.js';
export * from './runner.js';
export * from './status.js';
export * from './store.js';
export * from './types.js';
export * from './upcasters.js';
export * from './worker.js';
