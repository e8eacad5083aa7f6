import { Kind, type TSchema } from '@sinclair/typebox';
import {
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
} from 'graphql';
import { PhError } from '../../contract/errors';
import { RealtimeMessageSchema } from '../../contract/ops/realtime';
import { eventNames, events, type EventMessage, type EventName } from '../../contract/events';
import { operationNames, operations, type OperationName } from '../../contract/operations';
import { roleAllows } from '../../contract/roles';
import type { GraphqlContext } from './context';
import { eventIterator } from './event-stream';
import { contractInput } from './input-values';
import { exportedNames } from './names';
import { relations } from './relations';
import { TypeMapper, pascal } from './type-mapper';

/** `backup.sources.list` → capability `backup`, field `sourcesList`. */
function split(operation: string): { capability: string; field: string } {
  const [capability, ...rest] = operation.split('.') as [string, ...string[]];
  const field = pascal(rest.join('.'));
  return { capability, field: field[0]!.toLowerCase() + field.slice(1) };
}

const camel = (name: string): string => {
  const spelled = pascal(name);
  return spelled[0]!.toLowerCase() + spelled.slice(1);
};

/** A nominal row count for a list whose length the query does not set (`limit`), in a query's cost. */
export const DEFAULT_LIST_COST = 10;

/** Payload properties a subscription may filter on, when the event has them as strings. */
const EVENT_FILTERS = ['id', 'name', 'type'] as const;

/**
 * The GraphQL schema, generated from the contract: each read-only operation a `Query` field and each
 * mutating one a `Mutation` field, grouped by capability (`jobs { list }`), with arguments and
 * results typed from the operation's schemas; each console event a `Subscription` field. Every
 * resolver calls the dispatcher through the context, so GraphQL is one more door onto the same
 * operations. Throws InexpressibleShapeError when the contract holds a shape GraphQL cannot express.
 */
export function buildContractSchema(): GraphQLSchema {
  const mapper: TypeMapper = new TypeMapper(
    exportedNames(),
    relations((name) => mapper.type(name)),
  );
  type ByCapability = Map<string, GraphQLFieldConfigMap<unknown, GraphqlContext>>;
  const groups: { query: ByCapability; mutation: ByCapability } = { query: new Map(), mutation: new Map() };
  for (const name of operationNames) {
    const def = operations[name];
    const { capability, field } = split(name);
    const group = groups[def.mutating ? 'mutation' : 'query'];
    const fields = group.get(capability) ?? {};
    fields[field] = operationField(mapper, name);
    group.set(capability, fields);
  }
  const root = (kind: 'Query' | 'Mutation', byCapability: ByCapability) =>
    new GraphQLObjectType<unknown, GraphqlContext>({
      name: kind,
      fields: Object.fromEntries(
        [...byCapability].map(([capability, fields]) => [
          capability,
          {
            type: new GraphQLNonNull(
              new GraphQLObjectType({ name: `${pascal(capability)}${kind === 'Query' ? 'Queries' : 'Mutations'}`, fields }),
            ),
            description: `${capability} operations`,
            resolve: () => ({}),
          },
        ]),
      ),
    });
  return new GraphQLSchema({
    query: root('Query', groups.query),
    mutation: root('Mutation', groups.mutation),
    subscription: new GraphQLObjectType<unknown, GraphqlContext>({
      name: 'Subscription',
      fields: {
        ...Object.fromEntries(eventNames.map((event) => [camel(event), eventField(mapper, event)])),
        roomMessages: roomField(mapper),
      },
    }),
  });
}

function operationField(mapper: TypeMapper, name: OperationName): GraphQLFieldConfig<unknown, GraphqlContext> {
  const def = operations[name];
  const hint = pascal(name);
  const args = mapper.args(def.input, hint, `${name} input`);
  const takesLimit = Object.hasOwn(args, 'limit');
  return {
    // Nullable: an operation that fails nulls its own field, not the capability's or the whole answer.
    type: mapper.outputField(def.output, false, `${hint}Result`, `${name} output`),
    args,
    description: `${def.summary}. Role: ${def.minRole}.`,
    extensions: {
      operation: name,
      // A page of `limit` rows costs its rows; without a limit, the operation's lists count as DEFAULT_LIST_COST rows.
      complexity: ({ args: given, childComplexity }: { args: Record<string, unknown>; childComplexity: number }) =>
        1 + childComplexity * (takesLimit && typeof given.limit === 'number' ? given.limit : DEFAULT_LIST_COST),
    },
    resolve: (_source, values, ctx, info) =>
      ctx.call(name, contractInput(info.parentType.getFields()[info.fieldName]?.args ?? [], values as Record<string, unknown>)),
  };
}

function eventField(mapper: TypeMapper, event: EventName): GraphQLFieldConfig<unknown, GraphqlContext> {
  const { payload, minRole } = events[event];
  const properties = ((payload as TSchema).properties ?? {}) as Record<string, TSchema>;
  const filters = EVENT_FILTERS.filter((key) => properties[key]?.[Kind] === 'String');
  const args: GraphQLFieldConfigArgumentMap = Object.fromEntries(
    filters.map((key) => [key, { type: GraphQLString, description: `Only events whose ${key} is this` }]),
  );
  return {
    type: mapper.outputField(payload, true, `${pascal(event)}Event`, `event ${event}`),
    args,
    description: `The ${event} event, as the console receives it. Role: ${minRole}.`,
    subscribe: (_source, given: Record<string, unknown>, ctx) => {
      if (!roleAllows(ctx.caller.role, minRole))
        throw new PhError('PH_FORBIDDEN', `The ${event} event needs the ${minRole} role; this caller is ${ctx.caller.role}`);
      const wanted = filters.filter((key) => typeof given[key] === 'string');
      return eventIterator<unknown>((push) =>
        ctx.events((message: EventMessage) => {
          if (message.event !== event) return;
          const body = message.payload as Record<string, unknown>;
          if (wanted.every((key) => body[key] === given[key])) push(message.payload);
        }),
      );
    },
    resolve: (payload) => payload,
  };
}

/** A room's messages as its subscribers get them; the room's rules decide who may (PH_REALTIME_FORBIDDEN otherwise). */
function roomField(mapper: TypeMapper): GraphQLFieldConfig<unknown, GraphqlContext> {
  return {
    type: mapper.outputField(RealtimeMessageSchema, true, 'RealtimeMessage', 'room message'),
    args: { room: { type: new GraphQLNonNull(GraphQLString), description: 'The room to follow' } },
    description: "Each message published to the room (on any node), as the hub's clients receive it. Role: the room's rule.",
    subscribe: async (_source, given: { room: string }, ctx) => {
      let push: (message: unknown) => void = () => undefined;
      const stop = await ctx.rooms(ctx.caller, given.room, (message) => push(message));
      return eventIterator<unknown>((next) => {
        push = next;
        return stop;
      });
    },
    resolve: (message) => message,
  };
}
