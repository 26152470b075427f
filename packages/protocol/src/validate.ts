/**
 * Runtime validation of everything a client or publisher sends, with zod.
 * Used by the server; kept out of the main entry so clients stay small.
 */
import { z } from 'zod';
import { isValidChannel } from './channel.js';
import { ErrorCode } from './codes.js';
import type { ClientFrame, ClientFrameType } from './frames.js';
import type { PublishRequest } from './http.js';

/** Most channels one subscribe or unsubscribe frame may name. */
export const MAX_CHANNELS_PER_FRAME = 256;
/** Longest epoch string a client may send back. */
export const MAX_EPOCH_LENGTH = 64;
/** Longest token accepted in an `auth` frame. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/**
 * Deepest nesting of arrays and objects accepted in any JSON input (a client
 * frame, a publish body, an HTTP request body). `JSON.parse` takes any depth,
 * but schema validation and `JSON.stringify` recurse, so a small body nested
 * tens of thousands deep would overflow the stack; it is refused first.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests arrays or objects deeper than `maxDepth` (a scalar
 * is depth 0, `[]` and `{}` depth 1). Walks with an explicit stack, never
 * recursion, so it cannot overflow whatever the input, and stops at the first
 * branch past the limit.
 *
 * @example
 * if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) reject('nested too deeply');
 */
export function jsonDepthExceeds(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: Array<{ node: object; depth: number }> = [{ node: value, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.depth > maxDepth) return true;
    const children: readonly unknown[] = Array.isArray(item.node) ? item.node : Object.values(item.node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push({ node: child, depth: item.depth + 1 });
    }
  }
  return false;
}

/** The message of a refusal for nesting past {@link MAX_JSON_DEPTH}. */
export const TOO_DEEP_MESSAGE = `JSON nested deeper than ${MAX_JSON_DEPTH} levels`;

const frameId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
// Channel names are checked one by one by the server so that one bad name is a
// per-channel rejection, not a rejected frame; this only bounds the string.
const channelString = z.string().max(1024);
const position = z.object({
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  epoch: z.string().min(1).max(MAX_EPOCH_LENGTH),
});

const schemas = {
  auth: z.object({
    type: z.literal('auth'),
    token: z.string().min(1).max(MAX_TOKEN_LENGTH),
    id: frameId.optional(),
  }),
  subscribe: z.object({
    type: z.literal('subscribe'),
    id: frameId,
    channels: z
      .array(z.union([channelString, z.object({ channel: channelString, since: position.optional() })]))
      .min(1)
      .max(MAX_CHANNELS_PER_FRAME),
  }),
  unsubscribe: z.object({
    type: z.literal('unsubscribe'),
    id: frameId,
    channels: z.array(channelString).min(1).max(MAX_CHANNELS_PER_FRAME),
  }),
  ping: z.object({ type: z.literal('ping'), id: frameId.optional() }),
} satisfies Record<ClientFrameType, z.ZodType>;

/** Result of parsing one client frame. */
export type ParseResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string; id?: number };

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid frame';
  const path = issue.path.length > 0 ? issue.path.join('.') : 'frame';
  return `${path}: ${issue.message}`;
}

/**
 * Parses and validates one client text frame.
 *
 * @example
 * const r = parseClientFrame('{"type":"ping","id":3}');
 * if (r.ok) handle(r.frame); else sendError(r.code, r.message, r.id);
 */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'frame must be a JSON object' };
  }
  const record = value as Record<string, unknown>;
  const rawId = record.id;
  const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0 ? rawId : undefined;
  if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) {
    return withId({ ok: false, code: ErrorCode.INVALID_MESSAGE, message: TOO_DEEP_MESSAGE }, id);
  }
  const type = record.type;
  if (typeof type !== 'string') {
    return withId({ ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'frame has no string "type"' }, id);
  }
  // The frames every connection sends (its auth frame, its pings) skip the
  // schema when they plainly satisfy it: the same checks as `schemas.auth`
  // and `schemas.ping`, and the same output (unknown members dropped).
  // Anything else, and every refusal, goes through the schema below.
  if (type === 'auth') {
    const token = record.token;
    if (
      typeof token === 'string' &&
      token.length >= 1 &&
      token.length <= MAX_TOKEN_LENGTH &&
      (rawId === undefined || id !== undefined)
    ) {
      return { ok: true, frame: id === undefined ? { type, token } : { type, token, id } };
    }
  } else if (type === 'ping' && (rawId === undefined || id !== undefined)) {
    return { ok: true, frame: id === undefined ? { type } : { type, id } };
  }
  if (!Object.hasOwn(schemas, type)) {
    return withId(
      { ok: false, code: ErrorCode.UNKNOWN_TYPE, message: `unknown frame type "${type.slice(0, 64)}"` },
      id,
    );
  }
  const parsed = schemas[type as ClientFrameType].safeParse(value);
  if (!parsed.success) {
    return withId({ ok: false, code: ErrorCode.INVALID_MESSAGE, message: describe(parsed.error) }, id);
  }
  return { ok: true, frame: parsed.data as ClientFrame };
}

function withId(result: Extract<ParseResult, { ok: false }>, id: number | undefined): ParseResult {
  if (id !== undefined) result.id = id;
  return result;
}

const metaSchema = z.record(z.string(), z.json());

const publishSchema = z
  .object({
    channel: z.string().optional(),
    channels: z.array(z.string()).min(1).max(MAX_CHANNELS_PER_FRAME).optional(),
    event_type: z.string().min(1).max(255),
    payload: z.json(),
    meta: metaSchema.optional(),
    idempotency_key: z.string().min(1).max(255).optional(),
  })
  .refine((body) => (body.channel === undefined) !== (body.channels === undefined), {
    message: 'exactly one of "channel" and "channels" is required',
  });

/** Result of validating a publish request. */
export type PublishParseResult =
  | { ok: true; request: PublishRequest }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Validates a publish request body (already JSON-decoded). Channel names are
 * checked for syntax here too, since a publish is all or nothing.
 */
export function parsePublishRequest(value: unknown): PublishParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'body must be a JSON object' };
  }
  if (!Object.hasOwn(value, 'payload')) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'payload: required' };
  }
  // Before the schema: its JSON check recurses and would overflow the stack.
  if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: `body: ${TOO_DEEP_MESSAGE}` };
  }
  const parsed = publishSchema.safeParse(value);
  if (!parsed.success) return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: describe(parsed.error) };
  const request = parsed.data as PublishRequest;
  for (const channel of request.channels ?? [request.channel]) {
    if (!isValidChannel(channel)) {
      return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: `invalid channel name ${JSON.stringify(channel)}` };
    }
  }
  return { ok: true, request };
}
