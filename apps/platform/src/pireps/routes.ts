import { randomUUID } from 'node:crypto';
import { createCommandHandler } from '@albatross/cqrs';
import {
  ApprovePirepRequestSchema,
  CreatePirepRequestSchema,
  IdParamsSchema,
  type Pirep,
  PirepListQuerySchema,
  PirepPageSchema,
  PirepSchema,
  RejectPirepRequestSchema,
  UpdatePirepRequestSchema,
} from '@albatross/platform-api';
import { AlbatrossError, ErrorCode } from '@albatross/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { PlatformContext } from '../context.js';
import { AUTHED, commandMeta, errorResponses, etag, ifMatch, principal } from '../http/kit.js';
import {
  assertCanAmendPirep,
  assertCanFilePirep,
  assertCanReviewPirep,
  canSeePirep,
  notFound,
  type PirepRef,
  pirepListScope,
} from '../rbac/policy.js';
import { cachedQuery } from '../readmodel/cache.js';
import { type PirepCommand, pirepAggregate } from './aggregate.js';
import { listPireps, readPirep } from './projection.js';

const refOf = (pirep: Pirep): PirepRef => ({ tenantId: pirep.tenant_id, pilotId: pirep.pilot_id });

/** `/api/pireps`: file, list, read, amend (its pilot, while submitted), approve and reject (admins). */
export function pirepRoutes(ctx: PlatformContext) {
  const pireps = createCommandHandler(ctx.store, pirepAggregate, { now: () => ctx.now() });

  /** The PIREP, or 404 when it does not exist or the caller may not see it (ids do not leak). */
  async function visiblePirep(request: FastifyRequest, id: string): Promise<Pirep> {
    const pirep = await readPirep(ctx.store.driver, id);
    if (!pirep || !canSeePirep(principal(request), refOf(pirep))) throw notFound(`PIREP ${id}`);
    return pirep;
  }

  async function current(id: string): Promise<Pirep> {
    const pirep = await readPirep(ctx.store.driver, id);
    if (!pirep) throw new AlbatrossError(ErrorCode.INTERNAL, `PIREP ${id} missing from the read model`);
    return pirep;
  }

  /** Runs a command on a visible PIREP (with `If-Match`), waits for the read models, answers the new state. */
  async function change(request: FastifyRequest, id: string, command: PirepCommand): Promise<Pirep> {
    const expectedVersion = ifMatch(request);
    const result = await pireps.handle(id, command, {
      ...commandMeta(request),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    if (result.position > 0) await ctx.waitForReadModels(result.position);
    return current(id);
  }

  return async function register(fastify: FastifyInstance): Promise<void> {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const security = [{ bearer: [] }];

    app.post('/api/pireps', {
      schema: {
        tags: ['pireps'],
        summary: 'File a PIREP (Pilot): status submitted',
        security,
        body: CreatePirepRequestSchema,
        response: { 201: PirepSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request, reply) => {
        const caller = principal(request);
        assertCanFilePirep(caller);
        const id = randomUUID();
        const result = await pireps.handle(
          id,
          { kind: 'submit', tenant_id: caller.tenantId, pilot_id: caller.userId, report: request.body },
          commandMeta(request),
        );
        await ctx.waitForReadModels(result.position);
        const pirep = await current(id);
        etag(reply, pirep.version);
        return reply.status(201).send(pirep);
      },
    });

    app.get('/api/pireps', {
      schema: {
        tags: ['pireps'],
        summary: 'List PIREPs (PlatformAdmin: all; TenantAdmin: their tenant; Pilot: their own)',
        security,
        querystring: PirepListQuerySchema,
        response: { 200: PirepPageSchema, ...errorResponses(...AUTHED) },
      },
      handler: async (request) => {
        const scope = pirepListScope(principal(request));
        // A TenantAdmin's and a pilot's answers depend on their tenant only; a PlatformAdmin's on every tenant.
        const cacheScope = scope.tenantId ?? (scope.pilotId === undefined ? '*' : principal(request).tenantId);
        return cachedQuery(
          ctx.store.driver,
          ctx.cache,
          cacheScope,
          `pireps:${JSON.stringify([scope, request.query])}`,
          () => listPireps(ctx.store.driver, request.query, scope),
        );
      },
    });

    app.get('/api/pireps/:id', {
      schema: {
        tags: ['pireps'],
        summary: 'One PIREP',
        security,
        params: IdParamsSchema,
        response: { 200: PirepSchema, ...errorResponses(...AUTHED, 404) },
      },
      handler: async (request, reply) => {
        const pirep = await visiblePirep(request, request.params.id);
        etag(reply, pirep.version);
        return pirep;
      },
    });

    app.patch('/api/pireps/:id', {
      schema: {
        tags: ['pireps'],
        summary: 'Amend a PIREP (its pilot, while submitted); If-Match',
        security,
        params: IdParamsSchema,
        body: UpdatePirepRequestSchema,
        response: { 200: PirepSchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const pirep = await visiblePirep(request, request.params.id);
        assertCanAmendPirep(principal(request), refOf(pirep));
        const updated = await change(request, pirep.id, { kind: 'amend', changes: request.body });
        etag(reply, updated.version);
        return updated;
      },
    });

    app.post('/api/pireps/:id/approve', {
      schema: {
        tags: ['pireps'],
        summary: 'Approve a submitted PIREP (its tenant’s TenantAdmins, PlatformAdmins); 409 INVALID_STATE otherwise',
        security,
        params: IdParamsSchema,
        // The body is optional: a bodyless POST reaches the validator as null.
        body: ApprovePirepRequestSchema.nullish(),
        response: { 200: PirepSchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const pirep = await visiblePirep(request, request.params.id);
        const caller = principal(request);
        assertCanReviewPirep(caller, refOf(pirep));
        const updated = await change(request, pirep.id, {
          kind: 'approve',
          reviewer_id: caller.userId,
          review: request.body ?? {},
        });
        etag(reply, updated.version);
        return updated;
      },
    });

    app.post('/api/pireps/:id/reject', {
      schema: {
        tags: ['pireps'],
        summary: 'Reject a submitted PIREP with a comment (its tenant’s TenantAdmins, PlatformAdmins)',
        security,
        params: IdParamsSchema,
        body: RejectPirepRequestSchema,
        response: { 200: PirepSchema, ...errorResponses(...AUTHED, 404, 409) },
      },
      handler: async (request, reply) => {
        const pirep = await visiblePirep(request, request.params.id);
        const caller = principal(request);
        assertCanReviewPirep(caller, refOf(pirep));
        const updated = await change(request, pirep.id, {
          kind: 'reject',
          reviewer_id: caller.userId,
          review: request.body,
        });
        etag(reply, updated.version);
        return updated;
      },
    });
  };
}
