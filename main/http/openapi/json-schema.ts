import type { TSchema } from '@sinclair/typebox';

/** A plain JSON Schema (2020-12, as OpenAPI 3.1 reads it): what a TypeBox schema is without its symbols. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** TypeBox schemas are JSON Schema plus symbol-keyed hints; a JSON round trip keeps only the schema. */
export function toJsonSchema(schema: TSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema;
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema.properties ?? {}) as Record<string, JsonSchema>;
}

function requiredOf(schema: JsonSchema): string[] {
  return (schema.required ?? []) as string[];
}

/** The schema of one field of an object schema; any value when the object does not declare it. */
export function fieldSchema(schema: JsonSchema, field: string): JsonSchema {
  return propertiesOf(schema)[field] ?? {};
}

export function isRequired(schema: JsonSchema, field: string): boolean {
  return requiredOf(schema).includes(field);
}

/** The object schema without some of its fields (those the path or query supply instead of the body). */
export function withoutFields(schema: JsonSchema, fields: readonly string[]): JsonSchema {
  if (fields.length === 0) return schema;
  const properties = Object.fromEntries(Object.entries(propertiesOf(schema)).filter(([name]) => !fields.includes(name)));
  const required = requiredOf(schema).filter((name) => !fields.includes(name));
  const { required: _required, ...rest } = schema;
  return { ...rest, properties, ...(required.length === 0 ? {} : { required }) };
}

/** One schema that accepts what any of `schemas` accepts; the same schema twice is listed once. */
export function anyOf(schemas: readonly JsonSchema[]): JsonSchema {
  const distinct = [...new Map(schemas.map((s) => [JSON.stringify(s), s])).values()];
  return distinct.length === 1 ? (distinct[0] as JsonSchema) : { anyOf: distinct };
}
