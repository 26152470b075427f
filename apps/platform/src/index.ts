/**
 * `@albatross/platform`: tenants, users, roles, API keys and PIREPs on the
 * event store, with an HTTP API and the gateway built in.
 */

export { MAX_BODY_BYTES, type Platform, type PlatformOptions, READ_MODEL_WAIT_MS, startPlatform } from './app.js';
export type { BootstrapResult } from './auth/bootstrap.js';
export { type PlatformCommandOptions, rotateKeysCommand, runPlatformCommand } from './cli.js';
export type { PlatformContext, RevocationFilter } from './context.js';
export { readModelProjections } from './projections.js';
