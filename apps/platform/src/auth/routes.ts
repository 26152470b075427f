import {
  ChangePasswordRequestSchema,
  ChangePasswordResponseSchema,
  JwksSchema,
  LoginRequestSchema,
  LogoutRequestSchema,
  RefreshRequestSchema,
  TokenResponseSchema,
  UserSchema,
} from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PlatformContext } from '../context.js';
import { AUTHED, commandMeta, errorResponses, principal } from '../http/kit.js';
import { readUserByEmail, readUserRow, userView } from '../users/read.js';
import { handlers, normaliseEmail } from '../users/service.js';
import { decoyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import { FailureLimiter } from './rate-limit.js';
import type { TokenService } from './tokens.js';

/** Failed logins allowed per source address and per email in a window. */
const LOGIN_FAILURES = { perAddress: 20, perEmail: 5, windowMs: 15 * 60_000 };

/** Login, refresh, logout, the caller's profile and password, and the JWKS. */
export function authRoutes(ctx: PlatformContext, tokens: TokenService, options: { now?: () => number } = {}) {
  const byAddress = new FailureLimiter({
    max: LOGIN_FAILURES.perAddress,
    windowMs: LOGIN_FAILURES.windowMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const byEmail = new FailureLimiter({
    max: LOGIN_FAILURES.perEmail,
    windowMs: LOGIN_FAILURES.windowMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const { users } = handlers(ctx);

  return async function register(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post('/api/auth/login', {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in with email and password',
        body: LoginRequestSchema,
        response: { 200: TokenResponseSchema, ...errorResponses(401, 429) },
      },
      handler: async (request) => {
        const email = normaliseEmail(request.body.email);
        const addressKey = `ip:${request.ip}`;
        const emailKey = `email:${email}`;
        byAddress.check(addressKey);
        byEmail.check(emailKey);
        const row = await readUserByEmail(ctx.store.driver, email);
        // Unknown emails are checked against a decoy hash: both answers take as long.
        const ok = await verifyPassword(request.body.password, row?.password_hash ?? (await decoyPasswordHash()));
        let active = false;
        if (row && ok && row.status === 'active') {
          const [tenant] = await ctx.store.driver.query<{ status: string }>(
            'SELECT status FROM tenants WHERE id = $1',
            [row.tenant_id],
          );
          active = tenant?.status === 'active';
        }
        if (!row || !ok || !active) {
          byAddress.fail(addressKey);
          byEmail.fail(emailKey);
          throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'invalid email or password');
        }
        byEmail.reset(emailKey);
        return tokens.issue(row);
      },
    });

    app.post('/api/auth/refresh', {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token',
        description: 'Each refresh token works once; presenting a used one revokes its whole family.',
        body: RefreshRequestSchema,
        response: { 200: TokenResponseSchema, ...errorResponses(401) },
      },
      handler: async (request) => tokens.refresh(request.body.refresh_token),
    });

    app.post('/api/auth/logout', {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Revoke a refresh token and its family',
        body: LogoutRequestSchema.optional(),
        response: { 204: z.null().describe('logged out'), ...errorResponses() },
      },
      handler: async (request, reply) => {
        if (request.body?.refresh_token) await tokens.revokeToken(request.body.refresh_token);
        return reply.status(204).send(null);
      },
    });

    app.get('/api/me', {
      config: { allowWhilePasswordChangeRequired: true },
      schema: {
        tags: ['auth'],
        summary: 'The caller',
        security: [{ bearer: [] }],
        response: { 200: UserSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        const row = await readUserRow(ctx.store.driver, principal(request).userId);
        if (!row) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'credential required');
        return userView(row);
      },
    });

    app.post('/api/me/password', {
      config: { allowWhilePasswordChangeRequired: true },
      schema: {
        tags: ['auth'],
        summary: 'Change the caller’s password',
        description: 'Answers a fresh token pair; every other refresh token of the caller is revoked.',
        security: [{ bearer: [] }],
        body: ChangePasswordRequestSchema,
        response: { 200: ChangePasswordResponseSchema, ...errorResponses(...AUTHED, 429) },
      },
      handler: async (request) => {
        const caller = principal(request);
        const key = `password:${caller.userId}`;
        byEmail.check(key);
        const row = await readUserRow(ctx.store.driver, caller.userId);
        if (!row) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'credential required');
        if (!(await verifyPassword(request.body.current_password, row.password_hash))) {
          byEmail.fail(key);
          throw new AlbatrossError(ErrorCode.FORBIDDEN, 'current_password is wrong');
        }
        if (request.body.new_password === request.body.current_password) {
          throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'new_password must differ from current_password');
        }
        const result = await users.handle(
          caller.userId,
          { type: 'change_password', password_hash: await hashPassword(request.body.new_password) },
          commandMeta(request),
        );
        await ctx.waitForReadModels(result.position);
        await tokens.revokeUser(caller.userId);
        const fresh = await readUserRow(ctx.store.driver, caller.userId);
        if (!fresh) throw new AlbatrossError(ErrorCode.INTERNAL, 'user vanished');
        return tokens.issue(fresh);
      },
    });

    app.get('/.well-known/jwks.json', {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Public keys of the access tokens (ES256)',
        response: { 200: JwksSchema },
      },
      handler: async (_request, reply) => {
        void reply.header('cache-control', 'public, max-age=60');
        return ctx.keys.jwks();
      },
    });
  };
}
