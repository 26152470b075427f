import { openEventStore, type SqlEventStore } from '@albatross/cqrs';
import { Role } from '@albatross/platform-api';
import { silentLogger } from '@albatross/server';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../src/app.js';
import { handlers } from '../src/users/service.js';
import { type Answer, call } from './support/clients.js';
import { arbitraryOf, invalidBodyOf, type JsonSchema, resolverFor } from './support/json-schema-arbitrary.js';
import { createTenant, createUser, platformAdmin, type Session, startPlatform } from './support/platform.js';

/*
 * Schema-driven fuzzing of the HTTP API from its own OpenAPI document: for
 * every operation, requests built from the documented schemas (valid ones,
 * ones broken in one way, and raw junk), sent as every kind of caller. The
 * API must never answer 5xx, only answer statuses it documents, and every
 * JSON answer must match the schema documented for its status.
 */

interface Operation {
  method: string;
  path: string;
  parameters: Array<{ name: string; in: 'path' | 'query'; required?: boolean; schema: JsonSchema }>;
  body?: JsonSchema;
  responses: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
}

/** Runs per operation; bounded so the whole file stays within a couple of minutes on a busy machine. */
const RUNS = Number(process.env.ALBATROSS_FUZZ_RUNS ?? 40);
// A fixed seed by default, so a red CI run reproduces; set ALBATROSS_FUZZ_SEED to explore other inputs.
const SEED = Number(process.env.ALBATROSS_FUZZ_SEED ?? 20_261_130);
// ALBATROSS_FUZZ_REPORT=1 prints the statuses each operation answered (how far the generator got).

let store: SqlEventStore;
let platform: Platform;
let doc: { paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'> & { requestBody?: unknown }>> };
const operations: Operation[] = [];
const callers: Record<string, string | undefined> = {};
const knownIds: string[] = [];
const fixture = { tenants: [] as string[], users: [] as string[] };
const ajv = new Ajv2020({ strict: false, allErrors: false });
// ajv-formats is CommonJS: its plugin is the module's `default` property under NodeNext.
formats.default(ajv);
const validators = new Map<string, ValidateFunction>();

beforeAll(async () => {
  store = await openEventStore({ url: 'memory://' });
  platform = await startPlatform({ store, port: 0, logger: silentLogger });
  const answer = await call(platform.url, 'GET', '/api/openapi.json');
  expect(answer.status).toBe(200);
  doc = answer.body;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)?.content?.[
        'application/json'
      ]?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []) as Operation['parameters'],
        ...(body ? { body } : {}),
        responses: op.responses,
      });
    }
  }

  // Real entities, so that generated requests also hit existing ids of every kind.
  const root: Session = await platformAdmin(platform);
  const tenant = await createTenant(platform.url, root, 'Fuzz Air');
  const admin = await createUser(platform.url, root, tenant, [Role.TenantAdmin]);
  const pilot = await createUser(platform.url, admin, tenant, [Role.Pilot]);
  const pirep = await call(platform.url, 'POST', '/api/pireps', {
    token: pilot.token,
    body: {
      flight_number: 'FZ1',
      aircraft: 'F-FUZZ',
      departure: 'LFPO',
      arrival: 'LFML',
      block_off: '2026-11-30T10:00:00Z',
      block_on: '2026-11-30T11:10:00Z',
    },
  });
  const key = await call(platform.url, 'POST', `/api/users/${pilot.id}/apikeys`, {
    token: pilot.token,
    body: { name: 'fuzz' },
  });
  knownIds.push(tenant, 'platform', root.id, admin.id, pilot.id, pirep.body.id, key.body.id);
  fixture.tenants.push('platform', tenant);
  fixture.users.push(root.id, admin.id, pilot.id);
  Object.assign(callers, {
    platform_admin: root.token,
    tenant_admin: admin.token,
    pilot: pilot.token,
    api_key: key.body.key,
    anonymous: undefined,
    garbage: 'not-a-token',
  });
}, 120_000);

afterAll(async () => {
  await platform?.close();
  await store?.close();
});

/** What one generated request is. */
interface Request {
  caller: string;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  body:
    | { kind: 'none' }
    | { kind: 'json'; value: unknown; valid: boolean }
    | { kind: 'raw'; text: string; type: string };
}

const junkString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('', ' ', '..', '%2e%2e', 'null', '0', '-1', 'x'.repeat(300), '\u0000', 'ü', '😀', "' OR 1=1 --"),
);

function requestArbitrary(op: Operation): fc.Arbitrary<Request> {
  const resolve = resolverFor(doc);
  const pathParams = fc.record(
    Object.fromEntries(
      op.parameters
        .filter((p) => p.in === 'path')
        .map((p) => [
          p.name,
          fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom(...knownIds) },
            { weight: 1, arbitrary: arbitraryOf(p.schema, resolve).map(String) },
            { weight: 1, arbitrary: junkString },
          ),
        ]),
    ),
  );
  const queryEntries = op.parameters.filter((p) => p.in === 'query');
  // Well-formed queries: documented parameters only, values from their schemas (ids: real ones
  // too), no cursor (a made-up one is refused, rightly). Broken ones: junk values, unknown keys.
  const validValue = (p: Operation['parameters'][number]) =>
    p.name.endsWith('_id')
      ? fc.oneof(fc.constantFrom(...knownIds), arbitraryOf(p.schema, resolve).map(String))
      : arbitraryOf(p.schema, resolve).map(String);
  const validQuery = fc.record(
    Object.fromEntries(queryEntries.filter((p) => p.name !== 'cursor').map((p) => [p.name, validValue(p)])),
    { requiredKeys: [] },
  ) as fc.Arbitrary<Record<string, string>>;
  const brokenQuery = fc
    .tuple(
      fc.record(Object.fromEntries(queryEntries.map((p) => [p.name, fc.oneof(validValue(p), junkString)])), {
        requiredKeys: [],
      }),
      fc.option(fc.tuple(fc.stringMatching(/^[a-z_]{1,12}$/), junkString), { nil: undefined }),
    )
    .map(([q, extra]) => (extra ? { ...q, [extra[0]]: extra[1] } : q) as Record<string, string>);
  const query = fc.oneof({ weight: 3, arbitrary: validQuery }, { weight: 1, arbitrary: brokenQuery });
  const bodies: fc.Arbitrary<Request['body']>[] = [fc.constant({ kind: 'none' as const })];
  // fetch sends no body with GET.
  if (op.method !== 'GET') {
    bodies.push(
      fc
        .record({
          text: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('{', '[1,', '{"a":', 'null')),
          type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        })
        .map(({ text, type }) => ({ kind: 'raw' as const, text, type })),
    );
  }
  if (op.body) {
    const schema = op.body;
    bodies.push(
      arbitraryOf(schema, resolve).map((value) => ({ kind: 'json' as const, value, valid: true })),
      arbitraryOf(schema, resolve).map((value) => ({ kind: 'json' as const, value, valid: true })),
      invalidBodyOf(schema, resolve).map(({ body }) => ({ kind: 'json' as const, value: body, valid: false })),
    );
  }
  return fc.record({
    caller: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('platform_admin', 'tenant_admin', 'pilot', 'api_key') },
      { weight: 1, arbitrary: fc.constantFrom('anonymous', 'garbage') },
    ),
    pathParams,
    query,
    body: fc.oneof(...bodies),
  });
}

async function send(op: Operation, request: Request): Promise<Answer> {
  let path = op.path;
  for (const [name, value] of Object.entries(request.pathParams))
    path = path.replace(`{${name}}`, encodeURIComponent(value));
  const search = new URLSearchParams(request.query).toString();
  const url = `${path}${search ? `?${search}` : ''}`;
  const token = callers[request.caller];
  const options: Parameters<typeof call>[3] = token === undefined ? {} : { token };
  if (request.body.kind === 'json') options.body = JSON.stringify(request.body.value);
  if (request.body.kind === 'raw') {
    options.body = request.body.text;
    options.headers = { 'content-type': request.body.type };
  }
  return call(platform.url, op.method, url, options);
}

/**
 * Undoes what earlier operations' lucky requests did to the callers (a
 * suspended tenant, a deactivated user), so each operation is fuzzed with
 * callers that still authenticate. Straight through the command handlers:
 * the callers may be locked out of the API by then.
 */
async function heal(): Promise<void> {
  const { tenants, users } = handlers(platform.context);
  let position = 0;
  const again = async (run: () => Promise<{ position: number }>) => {
    try {
      position = Math.max(position, (await run()).position);
    } catch (error) {
      if ((error as { code?: string }).code !== 'INVALID_STATE') throw error; // active already
    }
  };
  for (const id of fixture.tenants) await again(() => tenants.handle(id, { type: 'reactivate' }));
  for (const id of fixture.users) await again(() => users.handle(id, { type: 'reactivate' }));
  if (position > 0) await platform.context.waitForReadModels(position);
}

/** Operations that lock callers out run last, so every other one is fuzzed with working callers. */
const LOCKING = /\/(suspend|deactivate)$|\/apikeys\/\{key_id\}$|\/api\/me\/password$|\/api\/auth\/logout$/;

function validatorFor(op: Operation, status: string): ValidateFunction | null {
  const key = `${op.method} ${op.path} ${status}`;
  const cached = validators.get(key);
  if (cached) return cached;
  const schema = op.responses[status]?.content?.['application/json']?.schema;
  if (!schema) return null;
  const validate = ajv.compile(schema);
  validators.set(key, validate);
  return validate;
}

describe('OpenAPI fuzzing', () => {
  it('documents every operation the platform serves', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
    for (const op of operations) expect(Object.keys(op.responses).length, `${op.method} ${op.path}`).toBeGreaterThan(0);
  });

  it('answers every generated request without 5xx, with a documented status and a body matching its schema', async () => {
    const seen = new Map<string, Set<number>>();
    const ordered = [
      ...operations.filter((op) => !LOCKING.test(op.path)),
      ...operations.filter((op) => LOCKING.test(op.path)),
    ];
    for (const [index, op] of ordered.entries()) {
      await heal();
      const statuses = new Set<number>();
      seen.set(`${op.method} ${op.path}`, statuses);
      await fc.assert(
        fc.asyncProperty(requestArbitrary(op), async (request) => {
          const answer = await send(op, request);
          statuses.add(answer.status);
          const where = `${op.method} ${op.path} ${JSON.stringify(request)} → ${answer.status} ${JSON.stringify(answer.body)}`;
          expect(answer.status, where).toBeLessThan(500);
          expect(Object.keys(op.responses), `undocumented status: ${where}`).toContain(String(answer.status));
          if (answer.status === 204) {
            expect(answer.body, where).toBeNull();
            return;
          }
          const validate = validatorFor(op, String(answer.status));
          if (validate && !validate(answer.body)) {
            throw new Error(`body does not match its schema: ${ajv.errorsText(validate.errors)}: ${where}`);
          }
          // A body broken on purpose is never accepted.
          if (request.body.kind === 'json' && !request.body.valid)
            expect(answer.status, where).toBeGreaterThanOrEqual(400);
        }),
        { numRuns: RUNS, seed: SEED + index },
      );
    }
    if (process.env.ALBATROSS_FUZZ_REPORT === '1') {
      for (const [op, statuses] of seen) process.stderr.write(`${op}: ${[...statuses].sort().join(' ')}\n`);
    }
    // The generator reached past validation and authentication somewhere: not only 400s and 401s.
    const successes = [...seen.values()].filter((statuses) => [...statuses].some((s) => s < 300)).length;
    expect(successes).toBeGreaterThanOrEqual(10);
  }, 600_000);
});
