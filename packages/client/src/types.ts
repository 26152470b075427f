import type { EventMeta } from '@albatross/protocol';

/** One event as delivered to the app: an `event` frame with a typed `payload`. */
export interface RealtimeEvent<Type extends string = string, Payload = unknown> {
  channel: string;
  /** Offset within `epoch`; grows by exactly 1 per publication. */
  offset: number;
  epoch: string;
  event_type: Type;
  /** Server publish time, ms since the Unix epoch. */
  ts: number;
  payload: Payload;
  meta?: EventMeta;
}

/**
 * The app's event map: channel pattern → event type → payload type. A pattern
 * is a channel name where `{name}` stands for any segment.
 *
 * @example
 * type AppEvents = {
 *   'tenant:{tenantId}:updates': {
 *     'user.created': { id: string; name: string };
 *     'user.deleted': { id: string };
 *   };
 * };
 * const client = createClient<AppEvents>({ url, getToken });
 */
export type EventMap = Record<string, Record<string, unknown>>;

/** Turns `tenant:{id}:updates` into the template literal type `tenant:${string}:updates`. */
export type ChannelPattern<P extends string> = P extends `${infer Head}{${string}}${infer Tail}`
  ? `${Head}${string}${ChannelPattern<Tail>}`
  : P;

/** Every channel name the map knows (`string` for an untyped client). */
export type KnownChannel<M extends EventMap> = string extends keyof M ? string : ChannelPattern<keyof M & string>;

/** Event type → payload of a concrete channel name, from every pattern it matches. */
export type ChannelEvents<M extends EventMap, C extends string> = string extends keyof M
  ? Record<string, unknown>
  : { [P in keyof M & string]: C extends ChannelPattern<P> ? M[P] : never }[keyof M & string];

/** The discriminated union (on `event_type`) of a channel's events. */
export type EventOf<E> = E extends unknown
  ? { [T in keyof E & string]: RealtimeEvent<T, E[T]> }[keyof E & string]
  : never;

/**
 * The output type of a schema, type-only: anything implementing Standard
 * Schema (zod ≥ 3.24, valibot, arktype), a TypeBox schema (its `static`), or
 * a plain type (kept as is). Nothing of the schema library is imported.
 */
export type InferPayload<S> = S extends { readonly '~standard': { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O }
    ? O
    : unknown
  : S extends { readonly static: infer O }
    ? O
    : S;

/**
 * Builds an {@link EventMap} from schemas the app shares with its publisher.
 *
 * @example
 * import { z } from 'zod';
 * const schemas = {
 *   'tenant:{tenantId}:updates': { 'user.created': z.object({ id: z.string(), name: z.string() }) },
 * };
 * const client = createClient<EventMapFromSchemas<typeof schemas>>({ url, getToken });
 */
export type EventMapFromSchemas<S> = {
  [P in keyof S & string]: { [T in keyof S[P] & string]: InferPayload<S[P][T]> };
};
