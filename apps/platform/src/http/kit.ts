import { ErrorBodySchema, parseIfMatch } from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';

/** Route options every platform route may set in `config`. */
export interface RouteConfig {
  /** No credential needed (login, refresh, JWKS, OpenAPI). */
  public?: boolean;
  /** Allowed while the caller must still change their password. */
  allowWhilePasswordChangeRequired?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    public?: boolean;
    allowWhilePasswordChangeRequired?: boolean;
  }
}

/**
 * Documented error answers of a route: every route may answer 400 (bad
 * input), 413 (body over the limit), 500 and 503 (the read models did not
 * catch up in time, or the store is down); add what else it can answer.
 */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBodySchema> {
  const out: Record<number, typeof ErrorBodySchema> = {
    400: ErrorBodySchema,
    413: ErrorBodySchema,
    500: ErrorBodySchema,
    503: ErrorBodySchema,
  };
  for (const status of statuses) out[status] = ErrorBodySchema;
  return out;
}

/** The statuses of an authenticated route: 401, 403 (forbidden, password change required), 429 besides. */
export const AUTHED = [401, 403] as const;

/** The bearer credential of a request: `Authorization: Bearer …`, or `?api_key=` for API keys. */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'Authorization must be "Bearer <token>"');
    return match[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  const key = query?.api_key;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/**
 * Authenticates every non-public route before validation (an anonymous
 * caller learns nothing from validation errors), and enforces the forced
 * password change.
 */
export function installAuthentication(app: FastifyInstance, authenticator: Authenticator): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const query = request.query as Record<string, unknown> | undefined;
    const token = credentialOf(request);
    // `api_key` is a credential, not a query parameter of any route.
    if (query && typeof query === 'object' && 'api_key' in query) delete query.api_key;
    const config = request.routeOptions.config;
    if (config.public) return;
    if (token === undefined) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'credential required');
    const principal = await authenticator.authenticate(token);
    if (principal.mustChangePassword && !config.allowWhilePasswordChangeRequired) {
      throw new AlbatrossError(ErrorCode.PASSWORD_CHANGE_REQUIRED, 'change your password first: POST /api/me/password');
    }
    request.principal = principal;
  });
}

/** The caller of an authenticated route. */
export function principal(request: FastifyRequest): Principal {
  if (!request.principal) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'credential required');
  return request.principal;
}

/** The version of an `If-Match` header: undefined when absent; 400 when malformed. */
export function ifMatch(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  const value = parseIfMatch(Array.isArray(header) ? header[0] : header);
  if (value === null) throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'If-Match must be "<version>"');
  return value;
}

/** Metadata stored with the events of a command issued by this request. */
export function commandMeta(request: FastifyRequest): { actorId: string; tenantId: string; correlationId: string } {
  const p = principal(request);
  return { actorId: p.userId, tenantId: p.tenantId, correlationId: String(request.id) };
}

/** Sets the entity's version as its ETag. */
export function etag(reply: FastifyReply, version: number): void {
  void reply.header('etag', `"${version}"`);
}
