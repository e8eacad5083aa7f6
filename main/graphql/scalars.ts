import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function safeInt(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_SAFE) return value;
  throw new GraphQLError(`SafeInt cannot represent ${JSON.stringify(value)}: it takes an integer within ±(2^53 - 1)`);
}

/**
 * Integers beyond GraphQL's 32-bit `Int`: byte counts, milliseconds, sequence numbers. The contract
 * bounds most of its integers only by what JSON carries, so only those it bounds within 32 bits are `Int`.
 */
export const SafeIntScalar = new GraphQLScalarType({
  name: 'SafeInt',
  description: 'An integer within ±(2^53 - 1), the range a JSON number holds exactly (GraphQL Int stops at 2^31 - 1)',
  serialize: safeInt,
  parseValue: safeInt,
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.INT) throw new GraphQLError('SafeInt takes an integer literal', { nodes: ast });
    return safeInt(Number(ast.value));
  },
});

/** Values the contract leaves unshaped (a job's payload and result, a cache value): any JSON. */
export const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value: used only where the contract declares no shape (payloads, results, cached values)',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

/**
 * A string-keyed map whose values have a fixed shape (GraphQL has no map type): the value is
 * checked against the contract's own schema both ways, so it is typed, not an open JSON object.
 */
export function mapScalar(name: string, valueName: string, schema: TSchema): GraphQLScalarType {
  const check = (value: unknown): unknown => {
    if (Value.Check(schema, value)) return value;
    throw new GraphQLError(`${name} takes an object whose values are ${valueName}`);
  };
  return new GraphQLScalarType({
    name,
    description: `An object of string keys to ${valueName} values`,
    serialize: check,
    parseValue: check,
    parseLiteral: (ast, variables) => check(valueFromASTUntyped(ast, variables)),
  });
}
