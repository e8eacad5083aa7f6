import { Type } from '@sinclair/typebox';
import { GraphQLObjectType, GraphQLSchema, graphql, printType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { InexpressibleShapeError } from '../../main/graphql';
import { TypeMapper } from '../../main/graphql/type-mapper';

/** The SDL of the type an output schema becomes, as a field `value` of a one-field query. */
function outputSdl(schema: ReturnType<typeof Type.Object>, names: Map<string, string> = new Map()): string {
  const mapper = new TypeMapper(names);
  const type = mapper.outputField(schema, true, 'Thing', 'test output');
  const query = new GraphQLObjectType({ name: 'Query', fields: { value: { type } } });
  const built = new GraphQLSchema({ query });
  return printType(built.getType('Thing')!);
}

describe('TypeBox to GraphQL', () => {
  it('keeps enums, nullability, 32-bit and wider integers, and renames properties GraphQL cannot spell', () => {
    const sdl = outputSdl(
      Type.Object({
        state: Type.Union([Type.Literal('waiting-children'), Type.Literal('done')]),
        note: Type.Union([Type.String(), Type.Null()]),
        maybe: Type.Optional(Type.Boolean()),
        small: Type.Integer({ minimum: 0, maximum: 100 }),
        bytes: Type.Integer(),
        'waiting-children': Type.Integer({ minimum: 0, maximum: 10 }),
      }),
    );
    expect(sdl).toContain('state: ThingState!');
    expect(sdl).toContain('note: String\n');
    expect(sdl).toContain('maybe: Boolean\n');
    expect(sdl).toContain('small: Int!');
    expect(sdl).toContain('bytes: SafeInt!');
    expect(sdl).toContain('waiting_children: Int!');
  });

  it('names a shape the contract exports after its constant', () => {
    const shape = Type.Object({ id: Type.String() });
    const sdl = outputSdl(Type.Object({ inner: shape }), new Map([[JSON.stringify(shape), 'Named']]));
    expect(sdl).toContain('inner: Named!');
  });

  it('refuses, naming the path, shapes GraphQL cannot express: tuples, unions of scalars, input unions, empty objects', () => {
    const mapper = new TypeMapper(new Map());
    expect(() => mapper.outputField(Type.Object({ pair: Type.Tuple([Type.String(), Type.Integer()]) }), true, 'A', 'op output')).toThrow(
      new InexpressibleShapeError('op output.pair', 'TypeBox Tuple has no GraphQL output type'),
    );
    expect(() => mapper.outputField(Type.Object({ either: Type.Union([Type.String(), Type.Integer()]) }), true, 'B', 'op output')).toThrow(
      /op output\.either: GraphQL unions hold object types only/,
    );
    expect(() =>
      mapper.args(
        Type.Object({ target: Type.Union([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })]) }),
        'C',
        'op input',
      ),
    ).toThrow(/op input\.target: .*no GraphQL input type/);
    expect(() => mapper.outputField(Type.Object({ empty: Type.Object({}) }), true, 'D', 'op output')).toThrow(/op output\.empty/);
  });

  it('makes a union of objects a GraphQL union that resolves each value to the member it matches', async () => {
    const mapper = new TypeMapper(new Map());
    const shape = Type.Object({ result: Type.Union([Type.Object({ ok: Type.Literal('yes') }), Type.Object({ error: Type.String() })]) });
    const type = mapper.outputField(shape, true, 'Thing', 'test output');
    const query = new GraphQLObjectType({ name: 'Query', fields: { value: { type, resolve: () => ({ result: { error: 'boom' } }) } } });
    const result = await graphql({
      schema: new GraphQLSchema({ query }),
      source: '{ value { result { __typename ... on ThingResultOption2 { error } } } }',
    });
    expect(result).toEqual({ data: { value: { result: { __typename: 'ThingResultOption2', error: 'boom' } } } });
  });
});
