/**
 * `@albatross/platform-api`: the contract of the platform's HTTP API and
 * realtime events, shared by the platform (which validates with these
 * schemas and derives its OpenAPI document from them) and the console
 * (which validates its forms with the same schemas).
 */

export * from './channels.js';
export * from './events.js';
export * from './realtime.js';
export * from './roles.js';
export * from './schemas.js';
