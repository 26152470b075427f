/**
 * `@albatross/protocol`: the wire contract of Albatross protocol v1.
 *
 * This entry point has no runtime dependency; runtime validation of client
 * frames lives in `@albatross/protocol/validate` so browser bundles never pull
 * the validator in.
 */

export * from './channel.js';
export * from './codec.js';
export * from './codes.js';
export * from './errors.js';
export * from './frames.js';
export * from './http.js';
