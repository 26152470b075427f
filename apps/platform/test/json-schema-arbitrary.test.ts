import * as api from '@albatross/platform-api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { arbitraryOf, invalidBodyOf, type JsonSchema, resolverFor } from './support/json-schema-arbitrary.js';

/*
 * The fuzz test's generator checked against the zod schemas it will meet
 * (through their JSON Schema, as the OpenAPI document carries them): what it
 * calls valid must pass the zod schema, what it calls invalid must fail it.
 * Otherwise a fuzz run proves little.
 */

const REQUESTS: Record<string, z.ZodType> = {
  LoginRequest: api.LoginRequestSchema,
  RefreshRequest: api.RefreshRequestSchema,
  ChangePasswordRequest: api.ChangePasswordRequestSchema,
  CreateTenantRequest: api.CreateTenantRequestSchema,
  UpdateTenantRequest: api.UpdateTenantRequestSchema,
  CreateUserRequest: api.CreateUserRequestSchema,
  CreateApiKeyRequest: api.CreateApiKeyRequestSchema,
  CreatePirepRequest: api.CreatePirepRequestSchema,
  ApprovePirepRequest: api.ApprovePirepRequestSchema,
  RejectPirepRequest: api.RejectPirepRequestSchema,
};

/** Refinements JSON Schema cannot carry (block times): the only failures a valid body may meet. */
const onlyRefinements = (error: z.ZodError) => error.issues.every((issue) => issue.code === 'custom');

describe('JSON Schema arbitraries', () => {
  for (const [name, schema] of Object.entries(REQUESTS)) {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const resolve = resolverFor(json);

    it(`${name}: generated bodies pass the zod schema`, () => {
      fc.assert(
        fc.property(arbitraryOf(json, resolve), (body) => {
          const result = schema.safeParse(body);
          if (!result.success && !onlyRefinements(result.error)) {
            throw new Error(`refused: ${JSON.stringify(body)}: ${result.error.message}`);
          }
        }),
        { numRuns: 100 },
      );
    });

    it(`${name}: broken bodies fail the zod schema`, () => {
      fc.assert(
        fc.property(invalidBodyOf(json, resolve), ({ body, breakage }) => {
          expect(schema.safeParse(body).success, `${breakage}: ${JSON.stringify(body)}`).toBe(false);
        }),
        { numRuns: 100 },
      );
    });
  }
});
