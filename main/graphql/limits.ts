import {
  Kind,
  getOperationAST,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { PhError } from '../../contract/errors';
import { roleAllows, type Role } from '../../contract/roles';

/** What one GraphQL document may ask of a LAN server (config `graphql.*`). */
export interface GraphqlLimits {
  readonly maxDepth: number;
  readonly maxCost: number;
  readonly maxAliases: number;
  /** The largest `limit` argument a query may give. */
  readonly maxListSize: number;
  /** The least role that may introspect, or `off`. */
  readonly introspection: Role | 'off';
}

export const defaultLimits: GraphqlLimits = { maxDepth: 12, maxCost: 50_000, maxAliases: 30, maxListSize: 500, introspection: 'viewer' };

interface Shape {
  depth: number;
  aliases: number;
  introspects: boolean;
  largestLimit: number;
}

/**
 * Walks the operation's selections (through fragments, each once a path) for its depth, its
 * aliases, whether it introspects, and the largest `limit` it gives. Introspection's own nesting
 * (`__schema { types { fields { type { ofType … } } } }`) is not counted in the depth: the
 * introspection switch governs it.
 */
function shapeOf(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): Shape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const shape: Shape = { depth: 0, aliases: 0, introspects: false, largestLimit: 0 };
  const walk = (set: SelectionSetNode, depth: number, entered: ReadonlySet<string>): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (fragment === undefined || entered.has(fragment.name.value)) continue;
        walk(fragment.selectionSet, depth, new Set([...entered, fragment.name.value]));
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, entered);
        continue;
      }
      if (selection.alias !== undefined) shape.aliases += 1;
      for (const arg of selection.arguments ?? []) {
        if (arg.name.value !== 'limit') continue;
        const value = valueFromASTUntyped(arg.value, variables);
        if (typeof value === 'number') shape.largestLimit = Math.max(shape.largestLimit, value);
      }
      if (selection.name.value === '__schema' || selection.name.value === '__type') {
        shape.introspects = true;
        continue;
      }
      shape.depth = Math.max(shape.depth, depth + 1);
      if (selection.selectionSet !== undefined) walk(selection.selectionSet, depth + 1, entered);
    }
  };
  const operation = getOperationAST(document, operationName);
  if (operation !== null && operation !== undefined) walk(operation.selectionSet, 0, new Set());
  return shape;
}

/** Whether a document may run, and what it costs (0 when refused before its cost was reckoned). */
export interface Verdict {
  readonly refusal: PhError | null;
  readonly cost: number;
}

/** Verdicts kept per parsed document (mercurius parses a query text once and hands the same document after). */
const verdicts = new WeakMap<DocumentNode, Map<string, Verdict>>();
/** Distinct variable sets remembered per document; past this a document is judged afresh each time. */
const VERDICTS_PER_DOCUMENT = 64;

/** `judge`, remembered per document for the same role, operation and variables: the hot path judges a query once. */
export function cachedJudge(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: { operationName?: string; variables?: Record<string, unknown>; role: Role },
  limits: GraphqlLimits,
): Verdict {
  const key = `${request.role}\u0000${request.operationName ?? ''}\u0000${JSON.stringify(request.variables ?? {})}`;
  let known = verdicts.get(document);
  const cached = known?.get(key);
  if (cached !== undefined) return cached;
  const verdict = judge(schema, document, request, limits);
  if (known === undefined) verdicts.set(document, (known = new Map()));
  if (known.size < VERDICTS_PER_DOCUMENT) known.set(key, verdict);
  return verdict;
}

const refused = (refusal: PhError, cost = 0): Verdict => ({ refusal, cost });

/**
 * Why the server refuses to run this (valid) document for this role, or null: introspection off
 * for the role, too deep, too many aliases, a list too long, too costly. The cost counts each field
 * 1, and a list as its `limit` rows (or a nominal 10 when not given), and is said in the error.
 */
export function judge(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: { operationName?: string; variables?: Record<string, unknown>; role: Role },
  limits: GraphqlLimits,
): Verdict {
  const variables = request.variables ?? {};
  const shape = shapeOf(document, request.operationName, variables);
  if (shape.introspects && (limits.introspection === 'off' || !roleAllows(request.role, limits.introspection))) {
    const allowed = limits.introspection === 'off' ? 'off' : `for ${limits.introspection} and above`;
    return refused(new PhError('PH_GRAPHQL_INTROSPECTION_OFF', `Introspection is ${allowed}; this caller is ${request.role}`));
  }
  if (shape.depth > limits.maxDepth) {
    const message = `The query nests ${shape.depth} levels deep; the limit is ${limits.maxDepth}`;
    return refused(new PhError('PH_GRAPHQL_TOO_DEEP', message, { details: { depth: shape.depth, maxDepth: limits.maxDepth } }));
  }
  if (shape.aliases > limits.maxAliases) {
    const message = `The query uses ${shape.aliases} aliases; the limit is ${limits.maxAliases}`;
    return refused(
      new PhError('PH_GRAPHQL_TOO_MANY_ALIASES', message, { details: { aliases: shape.aliases, maxAliases: limits.maxAliases } }),
    );
  }
  if (shape.largestLimit > limits.maxListSize) {
    const message = `The query asks for ${shape.largestLimit} rows; the limit is ${limits.maxListSize}`;
    const details = { limit: shape.largestLimit, maxListSize: limits.maxListSize };
    return refused(new PhError('PH_GRAPHQL_LIST_TOO_LARGE', message, { field: 'limit', details }));
  }
  const cost = getComplexity({
    schema,
    query: document,
    variables,
    ...(request.operationName === undefined ? {} : { operationName: request.operationName }),
    estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
  });
  if (cost > limits.maxCost) {
    const message = `The query costs ${cost}; the limit is ${limits.maxCost}`;
    return refused(new PhError('PH_GRAPHQL_TOO_COSTLY', message, { details: { cost, maxCost: limits.maxCost } }), cost);
  }
  return { refusal: null, cost };
}
