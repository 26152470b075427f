import fc from 'fast-check';

/** The part of JSON Schema (2020-12, as OpenAPI 3.1 uses it) the generator understands. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
  [key: string]: unknown;
}

/** Resolves `#/...` references against one document. */
export type Resolver = (ref: string) => JsonSchema;

export function resolverFor(document: unknown): Resolver {
  return (ref) => {
    if (!ref.startsWith('#/')) throw new Error(`external $ref not supported: ${ref}`);
    let node: unknown = document;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
      node = (node as Record<string, unknown>)?.[key];
    }
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
    return node as JsonSchema;
  };
}

/** Longest string the generator makes when a schema sets no `maxLength` (keeps runs fast). */
const DEFAULT_MAX_STRING = 40;

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === 'string') return [schema.type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Math.max(min, DEFAULT_MAX_STRING);
  const fits = (s: string) => s.length >= min && s.length <= max;
  switch (schema.format) {
    case 'date-time':
      return fc
        .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
        .map((d) => d.toISOString());
    case 'email':
      return fc
        .tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/), fc.stringMatching(/^[a-z]{2,10}$/))
        .map(([local, domain]) => `${local}@${domain}.example`)
        .filter(fits);
    case 'uuid':
      return fc.uuid();
    case 'uri':
      return fc.webUrl().filter(fits);
    default:
      break;
  }
  if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  // Servers often trim before checking a minimum length: keep enough non-blank characters.
  return fc
    .string({ minLength: min, maxLength: Math.min(max, min + DEFAULT_MAX_STRING) })
    .filter((s) => s.trim().length >= min);
}

function numberArbitrary(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1_000_000);
  const high = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1_000_000);
  return integer
    ? fc.integer({ min: Math.ceil(low), max: Math.floor(high) })
    : fc.double({ min: low, max: high, noNaN: true, noDefaultInfinity: true });
}

/**
 * A fast-check arbitrary of values valid under `schema` (as far as the
 * generator understands it: `$ref`, `type` lists, `enum`, `const`,
 * `anyOf`/`oneOf`, `allOf` of objects, string lengths, patterns and
 * formats, number bounds, arrays, objects with `required` and optional
 * properties). `depth` bounds recursion.
 */
export function arbitraryOf(schema: JsonSchema, resolve: Resolver, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null);
  if (schema.$ref) return arbitraryOf(resolve(schema.$ref), resolve, depth + 1);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alt) => arbitraryOf(alt, resolve, depth + 1)));
  if (schema.allOf) {
    const merged: JsonSchema = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf) {
      const resolved = part.$ref ? resolve(part.$ref) : part;
      Object.assign(merged.properties as object, resolved.properties ?? {});
      (merged.required as string[]).push(...(resolved.required ?? []));
    }
    return arbitraryOf(merged, resolve, depth + 1);
  }
  const types = typesOf(schema);
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'string':
          return stringArbitrary(schema);
        case 'integer':
          return numberArbitrary(schema, true);
        case 'number':
          return numberArbitrary(schema, false);
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'array':
          return fc.array(
            schema.items ? arbitraryOf(schema.items, resolve, depth + 1) : fc.jsonValue({ maxDepth: 1 }),
            {
              minLength: schema.minItems ?? 0,
              maxLength: Math.min(schema.maxItems ?? 4, (schema.minItems ?? 0) + 4),
            },
          );
        case 'object': {
          const properties = schema.properties ?? {};
          const required = new Set(schema.required ?? []);
          const model: Record<string, fc.Arbitrary<unknown>> = {};
          for (const [name, property] of Object.entries(properties))
            model[name] = arbitraryOf(property, resolve, depth + 1);
          return fc.record(model, { requiredKeys: [...required].filter((key) => key in properties) });
        }
        default:
          return fc.constant(null);
      }
    }),
  );
}

/** Ways to break a request body: each yields a body its schema refuses. */
export type Breakage = 'unknown_field' | 'missing_required' | 'wrong_type' | 'oversize' | 'not_an_object';

/**
 * An arbitrary of bodies that `schema` (an object schema) refuses, made by
 * breaking a valid one in one way, with the way it was broken.
 */
export function invalidBodyOf(
  schema: JsonSchema,
  resolve: Resolver,
): fc.Arbitrary<{ body: unknown; breakage: Breakage }> {
  const target = schema.$ref ? resolve(schema.$ref) : schema;
  const properties = target.properties ?? {};
  const required = target.required ?? [];
  const names = Object.keys(properties);
  const valid = arbitraryOf(target, resolve);
  const options: fc.Arbitrary<{ body: unknown; breakage: Breakage }>[] = [
    fc.tuple(valid, fc.stringMatching(/^zz_[a-z]{1,10}$/), fc.jsonValue({ maxDepth: 1 })).map(([body, key, value]) => ({
      body: { ...(body as object), [key]: value },
      breakage: 'unknown_field' as const,
    })),
    fc
      .oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer()))
      .map((body) => ({ body, breakage: 'not_an_object' as const })),
  ];
  if (required.length > 0) {
    options.push(
      fc.tuple(valid, fc.constantFrom(...required)).map(([body, key]) => {
        const copy = { ...(body as Record<string, unknown>) };
        delete copy[key];
        return { body: copy, breakage: 'missing_required' as const };
      }),
    );
  }
  if (names.length > 0) {
    options.push(
      fc.tuple(valid, fc.constantFrom(...names)).map(([body, key]) => {
        const property = properties[key] as JsonSchema;
        const resolved = property.$ref ? resolve(property.$ref) : property;
        const types = typesOf(resolved);
        // A value of a type the property never accepts.
        const wrong = types.includes('string') ? { nested: [1, 2] } : 'not-the-right-type';
        return { body: { ...(body as object), [key]: wrong }, breakage: 'wrong_type' as const };
      }),
    );
    const bounded = names.filter((name) => {
      const property = properties[name] as JsonSchema;
      const resolved = property.$ref ? resolve(property.$ref) : property;
      return typeof resolved.maxLength === 'number';
    });
    if (bounded.length > 0) {
      options.push(
        fc.tuple(valid, fc.constantFrom(...bounded)).map(([body, key]) => {
          const property = properties[key] as JsonSchema;
          const resolved = property.$ref ? resolve(property.$ref) : property;
          return {
            body: { ...(body as object), [key]: 'A'.repeat((resolved.maxLength as number) + 1) },
            breakage: 'oversize' as const,
          };
        }),
      );
    }
  }
  return fc.oneof(...options);
}
