import fc from 'fast-check';

/** A JSON Schema as the API document holds it (2020-12, `$ref`s already resolved). */
export type Schema = { readonly [keyword: string]: unknown };

const MAX_DEPTH = 5;
/** Strings and arrays are kept short: the point is their shape and edges, not their bulk. */
const MAX_STRING = 24;
const MAX_ITEMS = 3;

const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function stringFor(schema: Schema): fc.Arbitrary<string> {
  const minLength = num(schema.minLength) ?? 0;
  const maxLength = Math.max(minLength, Math.min(num(schema.maxLength) ?? MAX_STRING, minLength + MAX_STRING));
  if (schema.format === 'date-time') {
    return fc.date({ min: new Date(0), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern);
    return fc.stringMatching(pattern).filter((s) => s.length >= minLength && s.length <= (num(schema.maxLength) ?? Infinity));
  }
  // At the longest a schema allows, now and then: length limits are where off-by-ones live.
  const longest = num(schema.maxLength);
  const edge = longest === undefined ? [] : [fc.string({ minLength: longest, maxLength: longest })];
  return fc.oneof(fc.string({ minLength, maxLength }), ...edge);
}

function integerFor(schema: Schema): fc.Arbitrary<number> {
  const lo = Math.max(num(schema.minimum) ?? Number.MIN_SAFE_INTEGER, (num(schema.exclusiveMinimum) ?? -Infinity) + 1);
  const hi = Math.min(num(schema.maximum) ?? Number.MAX_SAFE_INTEGER, (num(schema.exclusiveMaximum) ?? Infinity) - 1);
  const small = fc.integer({ min: Math.max(lo, -1000), max: Math.max(Math.max(lo, -1000), Math.min(hi, 100_000)) });
  // The bounds themselves, which a handler may not expect (a `to` of 2^53).
  return fc.oneof({ arbitrary: small, weight: 4 }, { arbitrary: fc.constantFrom(lo, hi), weight: 1 });
}

function numberFor(schema: Schema): fc.Arbitrary<number> {
  const exMin = num(schema.exclusiveMinimum);
  const exMax = num(schema.exclusiveMaximum);
  return fc.double({
    min: exMin ?? num(schema.minimum) ?? -1e9,
    max: exMax ?? num(schema.maximum) ?? 1e9,
    minExcluded: exMin !== undefined,
    maxExcluded: exMax !== undefined,
    noNaN: true,
    noDefaultInfinity: true,
  });
}

function objectFor(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = (schema.required ?? []) as string[];
  const model = Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, valueFor(s, depth + 1)]));
  const declared = fc.record(model, { requiredKeys: required.filter((k) => k in properties) });
  const extra = [schema.additionalProperties, ...Object.values((schema.patternProperties ?? {}) as Record<string, Schema>)].find(
    (s): s is Schema => typeof s === 'object' && s !== null,
  );
  if (extra === undefined || Object.keys(properties).length > 0) return declared;
  return fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), valueFor(extra, depth + 1), { maxKeys: MAX_ITEMS });
}

/** Values the schema accepts (for the common keywords TypeBox emits). */
export function valueFor(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const choices = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(choices)) return fc.oneof(...choices.map((s) => valueFor(s, depth + 1)));
  if (Array.isArray(schema.type)) return fc.oneof(...(schema.type as string[]).map((type) => valueFor({ ...schema, type }, depth)));
  if (depth > MAX_DEPTH) return fc.constant(null);
  switch (schema.type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return integerFor(schema);
    case 'number':
      return numberFor(schema);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = num(schema.minItems) ?? 0;
      const maxLength = Math.max(minLength, Math.min(num(schema.maxItems) ?? MAX_ITEMS, MAX_ITEMS));
      const items = valueFor((schema.items ?? {}) as Schema, depth + 1);
      return schema.uniqueItems === true
        ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
        : fc.array(items, { minLength, maxLength });
    }
    case 'object':
      return objectFor(schema, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Any JSON value at all: what a careless or hostile client sends where a field belongs. */
const anyJson = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: MAX_STRING }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

/**
 * Values the schema (mostly) refuses: a field of the wrong type, a required field missing, or the
 * wrong thing altogether. Not checked to be invalid: what matters is how the server takes them.
 */
export function invalidFor(schema: Schema): fc.Arbitrary<unknown> {
  const properties = Object.keys((schema.properties ?? {}) as Record<string, Schema>);
  if (schema.type !== 'object' || properties.length === 0) return anyJson;
  const valid = valueFor(schema) as fc.Arbitrary<Record<string, unknown>>;
  const required = (schema.required ?? []) as string[];
  const wrongField = fc.tuple(valid, fc.constantFrom(...properties), anyJson).map(([value, key, wrong]) => ({ ...value, [key]: wrong }));
  const missing =
    required.length === 0
      ? []
      : [
          fc
            .tuple(valid, fc.constantFrom(...required))
            .map(([value, key]) => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))),
        ];
  return fc.oneof(wrongField, anyJson, ...missing);
}
