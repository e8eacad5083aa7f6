import { createRequire } from 'node:module';
import { Validator } from '@seriousme/openapi-schema-validator';

/** A compiled JSON Schema check, as ajv hands it back. */
export interface SchemaCheck {
  (value: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

export interface SchemaCompiler {
  compile(schema: unknown): SchemaCheck;
}

/**
 * Ajv 8 for JSON Schema 2020-12 (what OpenAPI 3.1 schemas are), with the standard formats. The
 * top-level `ajv` here is eslint's 6.x; ajv-formats carries the 8.x it is built for, so both are
 * taken from there and agree with each other.
 */
export function schemaCompiler(options: { strict: boolean }): SchemaCompiler {
  const fromFormats = createRequire(createRequire(import.meta.url).resolve('ajv-formats'));
  const Ajv2020 = (fromFormats('ajv/dist/2020') as { default: new (o: object) => SchemaCompiler }).default;
  const addFormats = (fromFormats('ajv-formats') as { default: (ajv: SchemaCompiler) => void }).default;
  const ajv = new Ajv2020({ strict: options.strict, allErrors: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

/** Validates an OpenAPI document against the specification's own schema. */
export async function checkOpenApi(document: unknown): Promise<{ valid: boolean; errors: unknown }> {
  const result = await new Validator().validate(structuredClone(document) as Parameters<Validator['validate']>[0]);
  return { valid: result.valid, errors: result.errors };
}

/** The document with every local `$ref` (`#/components/...`) replaced by what it points at, at any depth. */
export function resolveLocalRefs<T>(document: T): T {
  const at = (pointer: string): unknown =>
    pointer
      .slice(2)
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], document);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node !== 'object' || node === null) return node;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/')) return walk(at(ref));
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)]));
  };
  return walk(document) as T;
}
