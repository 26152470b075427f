import { ErrorCode } from '@albatross/protocol';
import { z } from 'zod';
import { ROLES } from './roles.js';

/*
 * Every request and response body of the platform's HTTP API. Request
 * objects are strict (an unknown field is refused with INVALID_MESSAGE) and
 * every string has a length limit, so an oversize input is refused before it
 * reaches a handler. Field names are a contract: add, never rename.
 */

// ---------------------------------------------------------------- limits

/** Limits of the API's inputs, in characters. */
export const Limits = {
  idLength: 64,
  nameLength: 100,
  emailLength: 254,
  passwordMin: 12,
  /** scrypt cost grows with the input; a cap keeps one login cheap. */
  passwordMax: 256,
  remarksLength: 2000,
  commentLength: 2000,
  queryLength: 100,
  cursorLength: 512,
  apiKeyNameLength: 100,
  /** `block_on` is at most this long after `block_off`. */
  maxBlockMs: 24 * 60 * 60 * 1000,
} as const;

/** Default and largest `limit` of a list. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;

// ---------------------------------------------------------------- scalars

/** An entity id: a UUID, or a short fixed name such as the bootstrap tenant's `platform`. */
export const IdSchema = z
  .string()
  .min(1)
  .max(Limits.idLength)
  .regex(/^[A-Za-z0-9_-]+$/, 'ids are letters, digits, "-" and "_"');

/** An instant in ISO 8601 with an offset, e.g. `2026-11-30T16:00:00.000Z`. */
export const TimestampSchema = z.iso.datetime({ offset: true });

export const RoleSchema = z.enum(ROLES as [string, ...string[]]) as z.ZodType<(typeof ROLES)[number]>;
export const RolesSchema = z.array(RoleSchema).min(1).max(ROLES.length);

/** No control characters (NUL cannot even be stored); tabs and newlines only where text is free-form. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NO_CONTROL_MULTILINE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
/** One line of text: trimmed, no control characters. */
export function lineSchema(max: number) {
  return z.string().trim().min(1).max(max).regex(NO_CONTROL, 'no control characters');
}
/** Free-form text (remarks, comments): newlines and tabs allowed, no other control characters. */
export function textSchema(max: number) {
  return z.string().max(max).regex(NO_CONTROL_MULTILINE, 'no control characters');
}

export const EmailSchema = z.email().max(Limits.emailLength);
export const PasswordSchema = z.string().min(Limits.passwordMin).max(Limits.passwordMax);
export const DisplayNameSchema = lineSchema(Limits.nameLength);
export const TenantNameSchema = lineSchema(Limits.nameLength);
/** Text search (`q`): a substring of names or emails. */
export const SearchSchema = lineSchema(Limits.queryLength);

/** A 4-letter ICAO aerodrome code, upper case (e.g. `LFPG`). */
export const IcaoSchema = z.string().regex(/^[A-Z]{4}$/, 'a 4-letter ICAO code in upper case');
/** Airline designator (2-3 characters) and a number, e.g. `AF1234`, `EZY12A`. */
export const FlightNumberSchema = z.string().regex(/^[A-Z0-9]{2,3}[0-9]{1,4}[A-Z]?$/, 'a flight number such as AF1234');
/** Aircraft registration or type, e.g. `F-GKXA`. */
export const AircraftSchema = z
  .string()
  .min(2)
  .max(16)
  .regex(/^[A-Z0-9-]+$/, 'an aircraft registration such as F-GKXA');

// ---------------------------------------------------------------- errors and lists

/** Body of every error answer. */
export const ErrorBodySchema = z.object({
  code: z.enum(Object.values(ErrorCode) as [string, ...string[]]),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** `limit` and `cursor` of every list. */
export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  cursor: z
    .string()
    .min(1)
    .max(Limits.cursorLength)
    .regex(/^[A-Za-z0-9_-]+$/, 'an opaque cursor from next_cursor')
    .optional(),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

/** `{ items, next_cursor }` of every list; `next_cursor` is null on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}
/** A page of a list. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Fields every entity carries. */
const entityBase = {
  id: IdSchema,
  /** The entity's stream version; send it back in `If-Match: "<version>"`. */
  version: z.number().int().min(1),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
};

/** Path parameter `{id}`. */
export const IdParamsSchema = z.strictObject({ id: IdSchema });
/** Path parameter `{tenant_id}`. */
export const TenantIdParamsSchema = z.strictObject({ tenant_id: IdSchema });
/** Path parameters `{id}` and `{key_id}`. */
export const ApiKeyParamsSchema = z.strictObject({ id: IdSchema, key_id: IdSchema });

// ---------------------------------------------------------------- auth

export const LoginRequestSchema = z.strictObject({
  email: EmailSchema,
  // Not PasswordSchema: a too-short password is just a wrong password here.
  password: z.string().min(1).max(Limits.passwordMax),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export const TokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  /** Seconds until `access_token` expires. */
  expires_in: z.number().int(),
  refresh_token: z.string(),
  must_change_password: z.boolean(),
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

export const RefreshRequestSchema = z.strictObject({ refresh_token: z.string().min(1).max(512) });
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;

/** Body of `POST /api/auth/logout`: the refresh token to revoke (optional). */
export const LogoutRequestSchema = z.strictObject({ refresh_token: z.string().min(1).max(512).optional() });
export type LogoutRequest = z.infer<typeof LogoutRequestSchema>;

export const ChangePasswordRequestSchema = z.strictObject({
  current_password: z.string().min(1).max(Limits.passwordMax),
  new_password: PasswordSchema,
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequestSchema>;
/**
 * 200 of `POST /api/me/password`: a fresh token pair. Every earlier refresh
 * token of the user is revoked (other sessions end), so the caller keeps
 * working with these.
 */
export const ChangePasswordResponseSchema = TokenResponseSchema;

/** One public key of `GET /.well-known/jwks.json`. */
export const JwkSchema = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  kid: z.string(),
  alg: z.literal('ES256'),
  use: z.literal('sig'),
});
export const JwksSchema = z.object({ keys: z.array(JwkSchema) });
export type Jwks = z.infer<typeof JwksSchema>;

// ---------------------------------------------------------------- tenants

export const TenantStatusSchema = z.enum(['active', 'suspended']);
export type TenantStatus = z.infer<typeof TenantStatusSchema>;

export const TenantSchema = z.object({ ...entityBase, name: z.string(), status: TenantStatusSchema });
export type Tenant = z.infer<typeof TenantSchema>;

export const CreateTenantRequestSchema = z.strictObject({ name: TenantNameSchema });
export type CreateTenantRequest = z.infer<typeof CreateTenantRequestSchema>;
export const UpdateTenantRequestSchema = z.strictObject({ name: TenantNameSchema });
export type UpdateTenantRequest = z.infer<typeof UpdateTenantRequestSchema>;

export const TenantListQuerySchema = PageQuerySchema.extend({
  status: TenantStatusSchema.optional(),
  q: SearchSchema.optional(),
});
export type TenantListQuery = z.infer<typeof TenantListQuerySchema>;
export const TenantPageSchema = pageSchema(TenantSchema);

// ---------------------------------------------------------------- users

export const UserStatusSchema = z.enum(['active', 'deactivated']);
export type UserStatus = z.infer<typeof UserStatusSchema>;

export const UserSchema = z.object({
  ...entityBase,
  tenant_id: IdSchema,
  email: z.string(),
  display_name: z.string(),
  roles: z.array(RoleSchema),
  status: UserStatusSchema,
  must_change_password: z.boolean(),
});
export type User = z.infer<typeof UserSchema>;

export const CreateUserRequestSchema = z.strictObject({
  email: EmailSchema,
  display_name: DisplayNameSchema,
  roles: RolesSchema,
  password: PasswordSchema.optional(),
});
export type CreateUserRequest = z.infer<typeof CreateUserRequestSchema>;

/** 201 of `POST /api/tenants/{tenant_id}/users`: `initial_password` only when none was given, and only here. */
export const CreatedUserSchema = UserSchema.extend({ initial_password: z.string().optional() });
export type CreatedUser = z.infer<typeof CreatedUserSchema>;

export const UpdateUserRequestSchema = z
  .strictObject({ display_name: DisplayNameSchema.optional(), roles: RolesSchema.optional() })
  .refine((body) => body.display_name !== undefined || body.roles !== undefined, {
    message: 'give display_name, roles or both',
  });
export type UpdateUserRequest = z.infer<typeof UpdateUserRequestSchema>;

export const UserListQuerySchema = PageQuerySchema.extend({
  tenant_id: IdSchema.optional(),
  role: RoleSchema.optional(),
  status: UserStatusSchema.optional(),
  q: SearchSchema.optional(),
});
export type UserListQuery = z.infer<typeof UserListQuerySchema>;
export const UserPageSchema = pageSchema(UserSchema);

// ---------------------------------------------------------------- API keys

export const CreateApiKeyRequestSchema = z.strictObject({
  name: lineSchema(Limits.apiKeyNameLength),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;

/** 201 of `POST /api/users/{id}/apikeys`: the plain `key` appears here only. */
export const CreatedApiKeySchema = z.object({
  id: IdSchema,
  name: z.string(),
  /** First characters of the key, to recognise it in lists. */
  prefix: z.string(),
  key: z.string(),
  created_at: TimestampSchema,
});
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;

/** An API key's metadata (never the key). */
export const ApiKeySchema = z.object({
  id: IdSchema,
  user_id: IdSchema,
  tenant_id: IdSchema,
  name: z.string(),
  prefix: z.string(),
  created_at: TimestampSchema,
  last_used_at: TimestampSchema.nullable(),
  revoked_at: TimestampSchema.nullable(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;
export const ApiKeyListSchema = z.object({ items: z.array(ApiKeySchema), next_cursor: z.string().nullable() });

/** Prefix of every platform API key: recognisable in logs and by secret scanners. */
export const API_KEY_PREFIX = 'alb_';

// ---------------------------------------------------------------- PIREPs

export const PirepStatusSchema = z.enum(['submitted', 'approved', 'rejected']);
export type PirepStatus = z.infer<typeof PirepStatusSchema>;

/**
 * Why `block_off`/`block_on` are refused, or `null` when they are fine:
 * `block_on` must be after `block_off` and at most 24 h later.
 */
export function blockTimesProblem(blockOff: string, blockOn: string): string | null {
  const off = Date.parse(blockOff);
  const on = Date.parse(blockOn);
  if (!Number.isFinite(off) || !Number.isFinite(on)) return 'block_off and block_on must be ISO 8601 instants';
  if (on <= off) return 'block_on must be after block_off';
  if (on - off > Limits.maxBlockMs) return 'block_on must be at most 24 h after block_off';
  return null;
}

const pirepFields = {
  flight_number: FlightNumberSchema,
  aircraft: AircraftSchema,
  departure: IcaoSchema,
  arrival: IcaoSchema,
  block_off: TimestampSchema,
  block_on: TimestampSchema,
  remarks: textSchema(Limits.remarksLength).optional(),
};

export const CreatePirepRequestSchema = z.strictObject(pirepFields).superRefine((body, ctx) => {
  const problem = blockTimesProblem(body.block_off, body.block_on);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['block_on'] });
});
export type CreatePirepRequest = z.infer<typeof CreatePirepRequestSchema>;

/** `PATCH /api/pireps/{id}`: any of the fields; block times are checked against the merged PIREP. */
export const UpdatePirepRequestSchema = z
  .strictObject({
    flight_number: FlightNumberSchema.optional(),
    aircraft: AircraftSchema.optional(),
    departure: IcaoSchema.optional(),
    arrival: IcaoSchema.optional(),
    block_off: TimestampSchema.optional(),
    block_on: TimestampSchema.optional(),
    remarks: textSchema(Limits.remarksLength).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field' });
export type UpdatePirepRequest = z.infer<typeof UpdatePirepRequestSchema>;

export const ApprovePirepRequestSchema = z.strictObject({
  comment: textSchema(Limits.commentLength).trim().min(1).optional(),
});
export type ApprovePirepRequest = z.infer<typeof ApprovePirepRequestSchema>;
export const RejectPirepRequestSchema = z.strictObject({
  comment: textSchema(Limits.commentLength).trim().min(1),
});
export type RejectPirepRequest = z.infer<typeof RejectPirepRequestSchema>;

export const PirepSchema = z.object({
  ...entityBase,
  tenant_id: IdSchema,
  pilot_id: IdSchema,
  flight_number: z.string(),
  aircraft: z.string(),
  departure: z.string(),
  arrival: z.string(),
  block_off: TimestampSchema,
  block_on: TimestampSchema,
  remarks: z.string().nullable(),
  status: PirepStatusSchema,
  review_comment: z.string().nullable(),
  reviewed_by: IdSchema.nullable(),
  reviewed_at: TimestampSchema.nullable(),
});
export type Pirep = z.infer<typeof PirepSchema>;

export const PirepListQuerySchema = PageQuerySchema.extend({
  status: PirepStatusSchema.optional(),
  pilot_id: IdSchema.optional(),
  tenant_id: IdSchema.optional(),
});
export type PirepListQuery = z.infer<typeof PirepListQuerySchema>;
export const PirepPageSchema = pageSchema(PirepSchema);

// ---------------------------------------------------------------- operations (PlatformAdmin)

/** Filters of `GET /api/admin/connections`; `cursor` is the previous page's `next_cursor`. */
export const ConnectionListQuerySchema = PageQuerySchema.extend({
  tenant_id: IdSchema.optional(),
  user_id: IdSchema.optional(),
});
export type ConnectionListQuery = z.infer<typeof ConnectionListQuerySchema>;

/** One live WebSocket connection of the gateway's registry. */
export const ConnectionSchema = z.object({
  connection_id: z.string(),
  /** `authenticating`, `open`, `closing`, … */
  state: z.string(),
  tenant_id: z.string().nullable(),
  user_id: z.string().nullable(),
  /** `jwt` or `api_key`; null before authentication. */
  credential: z.string().nullable(),
  subscriptions: z.number().int().min(0),
  connected_at: TimestampSchema,
  /** Bytes queued on its socket. */
  buffered_bytes: z.number().int().min(0),
});
export type LiveConnection = z.infer<typeof ConnectionSchema>;
export const ConnectionPageSchema = pageSchema(ConnectionSchema);

/** `POST /api/admin/connections/disconnect`: the filters combine with AND; at least one. */
export const DisconnectRequestSchema = z
  .strictObject({
    tenant_id: IdSchema.optional(),
    user_id: IdSchema.optional(),
    connection_id: IdSchema.optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    message: 'at least one of tenant_id, user_id, connection_id is required',
  });
export type DisconnectRequest = z.infer<typeof DisconnectRequestSchema>;
/** `disconnected`: the connections closed on the node that answered (the others close theirs too). */
export const DisconnectResponseSchema = z.object({ disconnected: z.number().int().min(0) });
export type DisconnectResponse = z.infer<typeof DisconnectResponseSchema>;

/** A projection name (path parameter). */
export const ProjectionNameParamsSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(Limits.idLength)
    .regex(/^[a-z0-9_]+$/, 'a projection name: lower-case letters, digits and "_"'),
});

/** An event a projection's handler failed on every time; the projection moved on without it. */
export const ParkedEventSchema = z.object({
  position: z.number().int().min(0),
  stream_id: z.string(),
  type: z.string(),
  error: z.string(),
  attempts: z.number().int().min(0),
  parked_at: TimestampSchema,
});
export type ParkedEvent = z.infer<typeof ParkedEventSchema>;

/** Status of one projection, against the store's head. */
export const ProjectionStatusSchema = z.object({
  name: z.string(),
  position: z.number().int().min(0),
  head: z.number().int().min(0),
  /** `head - position`: events it has not applied yet. */
  lag: z.number().int().min(0),
  /** `running`, `retrying`, `stopped` or `idle`. */
  status: z.string(),
  owner: z.string().nullable(),
  last_error: z.string().nullable(),
  retry_count: z.number().int().min(0),
  /** All parked events; `parked_events` shows the oldest of them. */
  parked: z.number().int().min(0),
  parked_events: z.array(ParkedEventSchema),
  /** False for side-effect projections (the realtime ones), which must never replay. */
  rebuildable: z.boolean(),
  updated_at: TimestampSchema,
});
export type ProjectionStatus = z.infer<typeof ProjectionStatusSchema>;
export const ProjectionListSchema = z.object({ items: z.array(ProjectionStatusSchema) });
export type ProjectionList = z.infer<typeof ProjectionListSchema>;

/** What a rebuild did. */
export const RebuildResultSchema = z.object({
  name: z.string(),
  /** The checkpoint the rebuilt read model was swapped in at. */
  position: z.number().int().min(0),
  applied: z.number().int().min(0),
  parked: z.number().int().min(0),
});
export type RebuildResult = z.infer<typeof RebuildResultSchema>;

// ---------------------------------------------------------------- headers

/** `If-Match: "<version>"` (quotes optional, as some clients drop them). */
export const IfMatchSchema = z.string().regex(/^(W\/)?"?[0-9]{1,15}"?$/, 'If-Match must be "<version>"');

/** Parses an `If-Match` header into a version; `undefined` when absent, `null` when malformed. */
export function parseIfMatch(header: string | undefined): number | undefined | null {
  if (header === undefined) return undefined;
  if (!IfMatchSchema.safeParse(header).success) return null;
  return Number(header.replace(/^W\//, '').replaceAll('"', ''));
}
