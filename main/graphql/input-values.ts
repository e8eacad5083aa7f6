import { isInputObjectType, isListType, isNonNullType, type GraphQLArgument, type GraphQLInputType } from 'graphql';

interface ContractField {
  readonly contractName?: string;
  readonly contractNullable?: boolean;
}

/**
 * GraphQL arguments as the contract's input: fields renamed back to the contract's spelling, and a
 * `null` dropped where the contract takes none (GraphQL clients send `null` for "not given").
 * Enum values already arrive as the contract's literals.
 */
export function contractInput(args: readonly GraphQLArgument[], values: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const arg of args) {
    if (!Object.hasOwn(values, arg.name)) continue;
    put(input, arg.name, arg.extensions as ContractField, contractValue(arg.type, values[arg.name]));
  }
  return input;
}

function put(into: Record<string, unknown>, name: string, field: ContractField, value: unknown): void {
  if (value === null && field.contractNullable !== true) return;
  into[field.contractName ?? name] = value;
}

function contractValue(type: GraphQLInputType, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (isNonNullType(type)) return contractValue(type.ofType, value);
  if (isListType(type)) return (value as unknown[]).map((item) => contractValue(type.ofType, item));
  if (!isInputObjectType(type)) return value;
  const out: Record<string, unknown> = {};
  for (const field of Object.values(type.getFields())) {
    const given = value as Record<string, unknown>;
    if (!Object.hasOwn(given, field.name)) continue;
    put(out, field.name, field.extensions as ContractField, contractValue(field.type, given[field.name]));
  }
  return out;
}
