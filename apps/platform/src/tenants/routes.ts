import { randomUUID } from 'node:crypto';
import {
  CreateTenantRequestSchema,
  IdParamsSchema,
  TenantListQuerySchema,
  TenantPageSchema,
  TenantSchema,
  UpdateTenantRequestSchema,
} from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { PlatformContext } from '../context.js';
import { AUTHED, commandMeta, errorResponses, etag, ifMatch, principal } from '../http/kit.js';
import {
  assertCanChangeTenant,
  assertCanCreateTenant,
  canSeeTenant,
  notFound,
  tenantListScope,
} from '../rbac/policy.js';
import { cachedQuery } from '../readmodel/cache.js';
import { handlers } from '../users/service.js';
import { listTenants, readTenant } from './read.js';

/** `/api/tenants`: create, list, read, rename, suspend, reactivate. */
export function tenantRoutes(ctx: PlatformContext) {
  const { tenants } = handlers(ctx);

  async function current(id: string) {
    const tenant = await readTenant(ctx.store.driver, id);
    if (!tenant) throw new AlbatrossError(ErrorCode.INTERNAL, `tenant ${id} missing from the read model`);
    return tenant;
  }

  return async function register(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    app.post('/api/tenants', {
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant (PlatformAdmin)',
        security,
        body: CreateTenantRequestSchema,
        response: { 201: TenantSchema, ...errorResponses(...AUTHED, 409) },
      },
      handler: async (request, reply) => {
        assertCanCreateTenant(principal(request));
        const id = randomUUID();
        const result = await tenants.handle(id, { type: 'create', name: request.body.name }, commandMeta(request));
        await ctx.waitForReadModels(result.position);
        const tenant = await current(id);
        etag(reply, tenant.version);
        return reply.status(201).send(tenant);
      },
    });

    app.get('/api/tenants', {
      schema: {
        tags: ['tenants'],
        summary: 'List tenants (PlatformAdmin: all; others: their own)',
        security,
        querystring: TenantListQuerySchema,
        response: { 200: TenantPageSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        const scope = tenantListScope(principal(request));
        return cachedQuery(ctx.store.driver, ctx.cache, scope ?? '*', `tenants:${JSON.stringify(request.query)}`, () =>
          listTenants(ctx.store.driver, request.query, scope),
        );
      },
    });

    app.get('/api/tenants/:id', {
      schema: {
        tags: ['tenants'],
        summary: 'One tenant',
        security,
        params: IdParamsSchema,
        response: { 200: TenantSchema, ...errorResponses(...AUTHED, 404) },
      },
      handler: async (request, reply) => {
        const { id } = request.params;
        if (!canSeeTenant(principal(request), id)) throw notFound(`tenant ${id}`);
        const tenant = await readTenant(ctx.store.driver, id);
        if (!tenant) throw notFound(`tenant ${id}`);
        etag(reply, tenant.version);
        return tenant;
      },
    });

    const change = (
      path: string,
      summary: string,
      command: (body: unknown) => { type: 'rename'; name: string } | { type: 'suspend' } | { type: 'reactivate' },
      method: 'patch' | 'post',
    ) => {
      app.route({
        method: method.toUpperCase() as 'PATCH' | 'POST',
        url: path,
        schema: {
          tags: ['tenants'],
          summary,
          security,
          params: IdParamsSchema,
          ...(method === 'patch' ? { body: UpdateTenantRequestSchema } : {}),
          response: { 200: TenantSchema, ...errorResponses(...AUTHED, 404, 409) },
        },
        handler: async (request, reply) => {
          const { id } = request.params as { id: string };
          assertCanChangeTenant(principal(request), id);
          if (!(await readTenant(ctx.store.driver, id))) throw notFound(`tenant ${id}`);
          const expectedVersion = ifMatch(request);
          const cmd = command(request.body);
          const result = await tenants.handle(id, cmd, {
            ...commandMeta(request),
            ...(expectedVersion === undefined ? {} : { expectedVersion }),
          });
          await ctx.waitForReadModels(result.position);
          if (cmd.type === 'suspend') ctx.revoke({ tenant_id: id });
          const tenant = await current(id);
          etag(reply, tenant.version);
          return tenant;
        },
      });
    };
    change(
      '/api/tenants/:id',
      'Rename a tenant (PlatformAdmin); If-Match',
      (body) => ({
        type: 'rename',
        name: (body as { name: string }).name,
      }),
      'patch',
    );
    change(
      '/api/tenants/:id/suspend',
      'Suspend a tenant: its users’ logins and keys are refused, live connections closed 4003',
      () => ({ type: 'suspend' }),
      'post',
    );
    change('/api/tenants/:id/reactivate', 'Reactivate a suspended tenant', () => ({ type: 'reactivate' }), 'post');
  };
}
