import { Kind, type TSchema } from '@sinclair/typebox';
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLScalarType,
  GraphQLString,
  GraphQLUnionType,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
} from 'graphql';
import { Value } from '@sinclair/typebox/value';
import { JsonScalar, SafeIntScalar, mapScalar } from './scalars';

/** A contract shape GraphQL cannot express: the schema is not built, and the contract test says where. */
export class InexpressibleShapeError extends Error {
  constructor(path: string, why: string) {
    super(`GraphQL cannot express ${path}: ${why}`);
    this.name = 'InexpressibleShapeError';
  }
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const INT32 = 2 ** 31;
/** Comparison literals have no letters to spell an enum value with. */
const SYMBOL_NAMES: Record<string, string> = { '>': 'GT', '>=': 'GTE', '<': 'LT', '<=': 'LTE', '==': 'EQ', '!=': 'NE' };

type Schema = TSchema & Record<string, unknown>;
const kindOf = (schema: TSchema): string => (schema as Schema)[Kind] as string;
const keyOf = (schema: TSchema): string => JSON.stringify(schema);

export const pascal = (text: string): string =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');

/** The name a list's item type takes from the list's field: `jobs` → `Job`, `entries` → `Entry`. */
function singular(word: string): string {
  if (/series$/.test(word)) return word;
  if (/ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(ss|ch|sh|x)es$/.test(word)) return word.slice(0, -2);
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return `${word}Item`;
}

/** `waiting-children` → `WAITING_CHILDREN`, `>=` → `GTE`, `l1` → `L1`. */
function enumValueName(literal: string, path: string): string {
  const name =
    SYMBOL_NAMES[literal] ??
    literal
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
      .toUpperCase();
  if (!NAME.test(name) || ['TRUE', 'FALSE', 'NULL'].includes(name))
    throw new InexpressibleShapeError(path, `the literal ${JSON.stringify(literal)} makes no enum value name`);
  return name;
}

/** The contract's field name as GraphQL spells it (`waiting-children` → `waiting_children`). */
function fieldName(name: string, path: string): string {
  const spelled = name.replace(/[^_0-9A-Za-z]/g, '_');
  if (!NAME.test(spelled)) throw new InexpressibleShapeError(`${path}.${name}`, 'the property name makes no GraphQL field name');
  return spelled;
}

/** The members of a union but `null`, and whether `null` was one (an unshaped value may always be null). */
function withoutNull(schema: TSchema): { schema: TSchema; nullable: boolean } {
  if (kindOf(schema) === 'Unknown' || kindOf(schema) === 'Any') return { schema, nullable: true };
  if (kindOf(schema) !== 'Union') return { schema, nullable: false };
  const members = (schema.anyOf as TSchema[]).filter((member) => kindOf(member) !== 'Null');
  if (members.length === schema.anyOf.length) return { schema, nullable: false };
  return { schema: members.length === 1 ? members[0]! : { ...schema, anyOf: members }, nullable: true };
}

const isStringLiteral = (schema: TSchema): boolean => kindOf(schema) === 'Literal' && typeof schema.const === 'string';
const SCALAR_NAMES: Record<string, string> = {
  String: 'String',
  Number: 'Float',
  Integer: 'Int',
  Boolean: 'Boolean',
  Unknown: 'JSON',
  Null: 'Null',
};

/** Extra fields a generated object type gets beside the contract's (the relations), by type name. */
export type ExtraFields = Record<string, () => GraphQLFieldConfigMap<unknown, unknown>>;

/**
 * Turns the contract's TypeBox schemas into GraphQL types: objects, enums (from string literals and
 * their unions), unions of objects (outputs), lists, nullability (optional or `| null`), typed map scalars
 * for records. A shape that occurs twice (the same JSON Schema) becomes one type, named after the
 * contract's exported constant when there is one (`JobInfoSchema` → `JobInfo`), else after where it
 * first occurs. Anything else throws InexpressibleShapeError naming the path.
 */
export class TypeMapper {
  readonly #outputs = new Map<string, GraphQLOutputType>();
  readonly #inputs = new Map<string, GraphQLInputType>();
  readonly #enums = new Map<string, GraphQLEnumType>();
  readonly #scalars = new Map<string, GraphQLScalarType>();
  readonly #named = new Map<string, GraphQLNamedType>();

  constructor(
    /** Names of the contract's exported schemas, by their JSON. */
    private readonly exported: ReadonlyMap<string, string>,
    private readonly extraFields: ExtraFields = {},
  ) {}

  /** A named type built so far (relations look their targets up here). */
  type(name: string): GraphQLNamedType {
    const type = this.#named.get(name);
    if (type === undefined) throw new Error(`No GraphQL type ${name} was generated`);
    return type;
  }

  /** An output field's type: non-null unless optional or `| null`. */
  outputField(schema: TSchema, required: boolean, hint: string, path: string): GraphQLOutputType {
    const { schema: inner, nullable } = withoutNull(schema);
    const type = this.#output(inner, hint, path);
    return nullable || !required ? type : new GraphQLNonNull(type);
  }

  inputField(schema: TSchema, required: boolean, hint: string, path: string): GraphQLInputType {
    const { schema: inner, nullable } = withoutNull(schema);
    const type = this.#input(inner, hint, path);
    return nullable || !required ? type : new GraphQLNonNull(type);
  }

  /** An operation's input object as field arguments. */
  args(schema: TSchema, hint: string, path: string): GraphQLFieldConfigArgumentMap {
    if (kindOf(schema) !== 'Object') throw new InexpressibleShapeError(path, 'an operation input must be an object to become arguments');
    const fields = this.#inputFields(schema, hint, path);
    return Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, { ...field }]));
  }

  #output(schema: TSchema, hint: string, path: string): GraphQLOutputType {
    const scalar = this.#scalar(schema, path);
    if (scalar !== null) return scalar;
    const kind = kindOf(schema);
    if (kind === 'Array') return new GraphQLList(this.outputField(schema.items as TSchema, true, singular(hint), `${path}[]`));
    if (kind === 'Record') return this.#map(schema, path);
    if (kind === 'Union' && (schema.anyOf as TSchema[]).every(isStringLiteral)) return this.#enum(schema, hint, path);
    if (isStringLiteral(schema)) return this.#enum({ anyOf: [schema] } as unknown as TSchema, hint, path);
    const key = keyOf(schema);
    const known = this.#outputs.get(key);
    if (known !== undefined) return known;
    let type: GraphQLOutputType;
    if (kind === 'Object') type = this.#objectType(schema, hint, path);
    else if (kind === 'Union') type = this.#unionType(schema, hint, path);
    else throw new InexpressibleShapeError(path, `TypeBox ${kind} has no GraphQL output type`);
    this.#outputs.set(key, type);
    return type;
  }

  #input(schema: TSchema, hint: string, path: string): GraphQLInputType {
    const scalar = this.#scalar(schema, path);
    if (scalar !== null) return scalar;
    const kind = kindOf(schema);
    if (kind === 'Array') return new GraphQLList(this.inputField(schema.items as TSchema, true, singular(hint), `${path}[]`));
    if (kind === 'Record') return this.#map(schema, path);
    if (kind === 'Union' && (schema.anyOf as TSchema[]).every(isStringLiteral)) return this.#enum(schema, hint, path);
    if (isStringLiteral(schema)) return this.#enum({ anyOf: [schema] } as unknown as TSchema, hint, path);
    if (kind !== 'Object')
      throw new InexpressibleShapeError(path, `TypeBox ${kind} has no GraphQL input type (GraphQL has no input unions)`);
    const key = keyOf(schema);
    const known = this.#inputs.get(key);
    if (known !== undefined) return known;
    const base = this.#nameFor(schema, hint);
    const type = new GraphQLInputObjectType({
      name: this.#claim(base.endsWith('Input') ? base : `${base}Input`, path),
      description: schema.description as string | undefined,
      fields: this.#inputFields(schema, base, path),
    });
    this.#inputs.set(key, type);
    this.#named.set(type.name, type);
    return type;
  }

  #inputFields(schema: TSchema, hint: string, path: string): GraphQLInputFieldConfigMap {
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const fields: GraphQLInputFieldConfigMap = {};
    for (const [name, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
      const spelled = fieldName(name, path);
      if (fields[spelled] !== undefined) throw new InexpressibleShapeError(`${path}.${name}`, `two properties are both spelled ${spelled}`);
      fields[spelled] = {
        type: this.inputField(property, required.has(name), `${hint}${pascal(name)}`, `${path}.${name}`),
        description: property.description,
        extensions: { contractName: name, contractNullable: withoutNull(property).nullable },
      };
    }
    return fields;
  }

  #objectType(schema: TSchema, hint: string, path: string): GraphQLObjectType {
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const name = this.#claim(this.#nameFor(schema, hint), path);
    const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
    for (const [property, value] of Object.entries(schema.properties as Record<string, TSchema>)) {
      const spelled = fieldName(property, path);
      if (fields[spelled] !== undefined)
        throw new InexpressibleShapeError(`${path}.${property}`, `two properties are both spelled ${spelled}`);
      const field: GraphQLFieldConfig<unknown, unknown> = {
        type: this.outputField(value, required.has(property), `${name}${pascal(property)}`, `${path}.${property}`),
        description: value.description,
      };
      if (spelled !== property) field.resolve = (source) => (source as Record<string, unknown>)[property];
      fields[spelled] = field;
    }
    if (Object.keys(fields).length === 0)
      throw new InexpressibleShapeError(path, 'an object with no properties makes a type with no fields');
    const extra = this.extraFields[name];
    const type = new GraphQLObjectType({
      name,
      description: schema.description as string | undefined,
      fields: extra === undefined ? fields : () => ({ ...fields, ...extra() }),
    });
    this.#named.set(name, type);
    return type;
  }

  /** Outputs only: each member an object; a value's type is the first member its shape matches. */
  #unionType(schema: TSchema, hint: string, path: string): GraphQLUnionType {
    const members = schema.anyOf as TSchema[];
    if (!members.every((member) => kindOf(member) === 'Object'))
      throw new InexpressibleShapeError(path, 'GraphQL unions hold object types only (a union of scalars has no type)');
    const name = this.#claim(this.#nameFor(schema, hint), path);
    const types = members.map(
      (member, index) => this.#output(member, `${name}Option${index + 1}`, `${path}|${index}`) as GraphQLObjectType,
    );
    const type = new GraphQLUnionType({
      name,
      types,
      resolveType: (value) => types[members.findIndex((member) => Value.Check(member, value))]?.name,
    });
    this.#named.set(name, type);
    return type;
  }

  #enum(schema: TSchema, hint: string, path: string): GraphQLEnumType {
    const literals = (schema.anyOf as TSchema[]).map((member) => member.const as string);
    const key = JSON.stringify(literals);
    const known = this.#enums.get(key);
    if (known !== undefined) return known;
    const values: Record<string, { value: string }> = {};
    for (const literal of literals) {
      const name = enumValueName(literal, path);
      if (values[name] !== undefined) throw new InexpressibleShapeError(path, `two literals are both spelled ${name}`);
      values[name] = { value: literal };
    }
    const type = new GraphQLEnumType({ name: this.#claim(this.#nameFor(schema, hint), path), values });
    this.#enums.set(key, type);
    this.#named.set(type.name, type);
    return type;
  }

  /** String, Float, Int (bounded within 32 bits; SafeInt beyond), Boolean, JSON for unshaped; null for the rest. */
  #scalar(schema: TSchema, path: string): GraphQLScalarType | null {
    switch (kindOf(schema)) {
      case 'String':
        return GraphQLString;
      case 'Number':
        return GraphQLFloat;
      case 'Boolean':
        return GraphQLBoolean;
      case 'Unknown':
      case 'Any':
        return JsonScalar;
      case 'Integer': {
        const min = (schema.minimum as number | undefined) ?? -Infinity;
        const max = (schema.maximum as number | undefined) ?? Infinity;
        return min >= -INT32 && max < INT32 ? GraphQLInt : SafeIntScalar;
      }
      case 'Null':
        throw new InexpressibleShapeError(path, 'a value that is always null has no GraphQL type');
      default:
        return null;
    }
  }

  /** A record of string keys to scalars (or a union of them): a map scalar named for its values. */
  #map(schema: TSchema, path: string): GraphQLScalarType {
    const patterns = Object.values((schema.patternProperties as Record<string, TSchema> | undefined) ?? {});
    const value = patterns[0];
    const members = value === undefined ? [] : kindOf(value) === 'Union' ? (value.anyOf as TSchema[]) : [value];
    const names = members.map((member) => SCALAR_NAMES[kindOf(member)]);
    if (value === undefined || patterns.length !== 1 || names.length === 0 || names.some((n) => n === undefined))
      throw new InexpressibleShapeError(path, 'a record maps to a GraphQL scalar only when its values are scalars');
    const valueName = [...new Set(names as string[])].sort().join('Or');
    const name = `${valueName}Map`;
    let scalar = this.#scalars.get(name);
    if (scalar === undefined) {
      scalar = mapScalar(name, valueName, { ...schema, additionalProperties: false });
      this.#scalars.set(name, scalar);
      this.#named.set(name, scalar);
    }
    return scalar;
  }

  #nameFor(schema: TSchema, hint: string): string {
    return this.exported.get(keyOf(schema)) ?? hint;
  }

  /** Names are unique across the schema; two shapes wanting one name is a contract to fix, not to guess around. */
  #claim(name: string, path: string): string {
    if (!NAME.test(name)) throw new InexpressibleShapeError(path, `${name} is not a GraphQL type name`);
    if (this.#named.has(name)) throw new InexpressibleShapeError(path, `two different shapes are both named ${name}`);
    return name;
  }
}
