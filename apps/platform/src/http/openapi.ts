import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * Registers the OpenAPI 3.1 document, derived from the routes' zod schemas,
 * and serves it at `GET /api/openapi.json`. Must be registered before the routes.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Albatross platform API',
        version: '0.1.0',
        description:
          'Tenants, users, API keys and PIREPs. Errors are `{ code, message, details? }` with codes from the shared list; lists are `{ items, next_cursor }`.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An access token from POST /api/auth/login, or an API key',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
}

/** The route serving the document (public). */
export function openApiRoute(app: FastifyInstance): void {
  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
