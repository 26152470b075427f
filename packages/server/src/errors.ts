/**
 * The gateway's error class is the shared one from `@albatross/protocol`
 * (the event store throws the same class); re-exported here so existing
 * imports keep working.
 */
export { AlbatrossError, toAlbatrossError } from '@albatross/protocol';
