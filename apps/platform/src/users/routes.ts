import { randomBytes, randomUUID } from 'node:crypto';
import {
  API_KEY_PREFIX,
  ApiKeyListSchema,
  ApiKeyParamsSchema,
  CreateApiKeyRequestSchema,
  CreatedApiKeySchema,
  CreatedUserSchema,
  CreateUserRequestSchema,
  IdParamsSchema,
  PageQuerySchema,
  TenantIdParamsSchema,
  UpdateUserRequestSchema,
  UserListQuerySchema,
  UserPageSchema,
  UserSchema,
} from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sha256Hex } from '../auth/authenticate.js';
import { knownRoles } from '../auth/principal.js';
import type { TokenService } from '../auth/tokens.js';
import type { PlatformContext } from '../context.js';
import { AUTHED, commandMeta, errorResponses, etag, ifMatch, principal } from '../http/kit.js';
import {
  assertCanChangeUserStatus,
  assertCanCreateUser,
  assertCanManageApiKeys,
  assertCanUpdateUser,
  canSeeUser,
  notFound,
  type UserRef,
  userListScope,
} from '../rbac/policy.js';
import { cachedQuery } from '../readmodel/cache.js';
import { readTenant } from '../tenants/read.js';
import { listApiKeys, listUsers, readUserRow, type UserRow, userView } from './read.js';
import { createUser, handlers } from './service.js';

function refOf(row: UserRow): UserRef {
  return { id: row.id, tenantId: row.tenant_id, roles: knownRoles(row.roles) };
}

/** `/api/tenants/{tenant_id}/users`, `/api/users…` and the API keys of a user. */
export function userRoutes(ctx: PlatformContext, tokens: TokenService) {
  const { users } = handlers(ctx);

  /** The user row, or 404 when it does not exist or the caller may not see it. */
  async function visibleUser(request: FastifyRequest, id: string): Promise<UserRow> {
    const row = await readUserRow(ctx.store.driver, id);
    if (!row || !canSeeUser(principal(request), refOf(row))) throw notFound(`user ${id}`);
    return row;
  }

  async function current(id: string) {
    const row = await readUserRow(ctx.store.driver, id);
    if (!row) throw new AlbatrossError(ErrorCode.INTERNAL, `user ${id} missing from the read model`);
    return userView(row);
  }

  return async function register(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    app.post('/api/tenants/:tenant_id/users', {
      schema: {
        tags: ['users'],
        summary: 'Create a user; without password the answer carries initial_password once',
        security,
        params: TenantIdParamsSchema,
        body: CreateUserRequestSchema,
        response: { 201: CreatedUserSchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const { tenant_id: tenantId } = request.params;
        assertCanCreateUser(principal(request), tenantId, request.body.roles);
        if (!(await readTenant(ctx.store.driver, tenantId))) throw notFound(`tenant ${tenantId}`);
        const created = await createUser(
          ctx,
          {
            tenantId,
            email: request.body.email,
            displayName: request.body.display_name,
            roles: request.body.roles,
            ...(request.body.password === undefined ? {} : { password: request.body.password }),
          },
          commandMeta(request),
        );
        await ctx.waitForReadModels(created.position);
        const user = await current(created.id);
        etag(reply, user.version);
        return reply
          .status(201)
          .send(created.initialPassword === undefined ? user : { ...user, initial_password: created.initialPassword });
      },
    });

    app.get('/api/users', {
      schema: {
        tags: ['users'],
        summary: 'List users (PlatformAdmin: all; TenantAdmin: their tenant; Pilot: themself)',
        security,
        querystring: UserListQuerySchema,
        response: { 200: UserPageSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        const caller = principal(request);
        const scope = userListScope(caller);
        const cacheScope =
          scope.tenantId ?? (scope.userId !== undefined ? caller.tenantId : (request.query.tenant_id ?? '*'));
        return cachedQuery(
          ctx.store.driver,
          ctx.cache,
          cacheScope,
          `users:${JSON.stringify(scope)}:${JSON.stringify(request.query)}`,
          () => listUsers(ctx.store.driver, request.query, scope),
        );
      },
    });

    app.get('/api/users/:id', {
      schema: {
        tags: ['users'],
        summary: 'One user',
        security,
        params: IdParamsSchema,
        response: { 200: UserSchema, ...errorResponses(...AUTHED, 404) },
      },
      handler: async (request, reply) => {
        const user = userView(await visibleUser(request, request.params.id));
        etag(reply, user.version);
        return user;
      },
    });

    app.patch('/api/users/:id', {
      schema: {
        tags: ['users'],
        summary: 'Change display_name and/or roles; If-Match',
        security,
        params: IdParamsSchema,
        body: UpdateUserRequestSchema,
        response: { 200: UserSchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const row = await visibleUser(request, request.params.id);
        assertCanUpdateUser(principal(request), refOf(row), {
          displayName: request.body.display_name !== undefined,
          ...(request.body.roles === undefined ? {} : { roles: request.body.roles }),
        });
        const expectedVersion = ifMatch(request);
        const result = await users.handle(
          row.id,
          {
            type: 'update',
            ...(request.body.display_name === undefined ? {} : { display_name: request.body.display_name }),
            ...(request.body.roles === undefined ? {} : { roles: request.body.roles }),
          },
          { ...commandMeta(request), ...(expectedVersion === undefined ? {} : { expectedVersion }) },
        );
        await ctx.waitForReadModels(result.position);
        const user = await current(row.id);
        etag(reply, user.version);
        return user;
      },
    });

    for (const action of ['deactivate', 'reactivate'] as const) {
      app.post(`/api/users/:id/${action}`, {
        schema: {
          tags: ['users'],
          summary:
            action === 'deactivate'
              ? 'Deactivate a user: refresh tokens and API keys revoked, live connections closed 4003'
              : 'Reactivate a user (their API keys stay revoked)',
          security,
          params: IdParamsSchema,
          response: { 200: UserSchema, ...errorResponses(...AUTHED, 404, 409) },
        },
        handler: async (request, reply) => {
          const row = await visibleUser(request, request.params.id);
          assertCanChangeUserStatus(principal(request), refOf(row));
          const expectedVersion = ifMatch(request);
          const result = await users.handle(
            row.id,
            { type: action },
            { ...commandMeta(request), ...(expectedVersion === undefined ? {} : { expectedVersion }) },
          );
          await ctx.waitForReadModels(result.position);
          if (action === 'deactivate') {
            await tokens.revokeUser(row.id);
            ctx.revoke({ user_id: row.id });
          }
          const user = await current(row.id);
          etag(reply, user.version);
          return user;
        },
      });
    }

    // ------------------------------------------------------------ API keys

    app.post('/api/users/:id/apikeys', {
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key; the plain key appears in this answer only',
        security,
        params: IdParamsSchema,
        body: CreateApiKeyRequestSchema,
        response: { 201: CreatedApiKeySchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const row = await visibleUser(request, request.params.id);
        assertCanManageApiKeys(principal(request), refOf(row));
        const keyId = randomUUID();
        const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
        const prefix = key.slice(0, API_KEY_PREFIX.length + 8);
        const result = await users.handle(
          row.id,
          { type: 'create_apikey', key_id: keyId, name: request.body.name, prefix, sha256: sha256Hex(key) },
          commandMeta(request),
        );
        await ctx.waitForReadModels(result.position);
        const createdAt = result.events[0]?.recordedAt ?? ctx.now().toISOString();
        return reply
          .status(201)
          .send({ id: keyId, name: request.body.name, prefix, key, created_at: new Date(createdAt).toISOString() });
      },
    });

    app.get('/api/users/:id/apikeys', {
      schema: {
        tags: ['api keys'],
        summary: 'The API keys of a user (metadata only), revoked ones included',
        security,
        params: IdParamsSchema,
        querystring: PageQuerySchema,
        response: { 200: ApiKeyListSchema, ...errorResponses(...AUTHED, 404) },
      },
      handler: async (request) => {
        const row = await visibleUser(request, request.params.id);
        assertCanManageApiKeys(principal(request), refOf(row));
        return listApiKeys(ctx.store.driver, row.id, request.query);
      },
    });

    app.delete('/api/users/:id/apikeys/:key_id', {
      schema: {
        tags: ['api keys'],
        summary: 'Revoke an API key: refused everywhere at once, its live connections closed 4003',
        security,
        params: ApiKeyParamsSchema,
        response: { 204: z.null().describe('revoked'), ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const row = await visibleUser(request, request.params.id);
        assertCanManageApiKeys(principal(request), refOf(row));
        const result = await users.handle(
          row.id,
          { type: 'revoke_apikey', key_id: request.params.key_id },
          commandMeta(request),
        );
        await ctx.waitForReadModels(result.position);
        ctx.revoke({ api_key_id: request.params.key_id });
        return reply.status(204).send(null);
      },
    });
  };
}
