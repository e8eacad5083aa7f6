/**
 * One change between two API versions, declared once (as Stripe does): handlers speak only the
 * latest version, and a request in an older version goes up through the request transforms of every
 * change since, and its answer comes back down through their response transforms, newest first.
 */

/** A route of the table, named the way the changelog prints it: `GET /services/:id`. */
export type RouteRef = `${'GET' | 'POST' | 'PUT' | 'DELETE'} /${string}`;

/** A plain JSON Schema object: what OpenAPI documents for a body. */
export type JsonSchemaObject = { readonly [keyword: string]: unknown };

/** An answer as the REST layer is about to send it: a body of `undefined` is no body at all. */
export interface VersionedAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** What the API documents for a successful answer: its status and its body's schema (null: no body). */
export interface DocumentedAnswer {
  readonly status: number;
  readonly schema: JsonSchemaObject | null;
}

/**
 * How a newer answer becomes the older one. `answer` rewrites what is sent; `document` rewrites what
 * OpenAPI says is sent, so the older version's document stays truthful. The helpers below give both
 * at once; a change written by hand must keep the two in step (the OpenAPI property test checks it).
 */
export interface ResponseDown {
  readonly answer: (newer: VersionedAnswer) => VersionedAnswer;
  readonly document: (newer: DocumentedAnswer) => DocumentedAnswer;
}

/** How an older request's operation input becomes the newer one, and what the older body looks like. */
export interface RequestUp {
  readonly input: (older: Readonly<Record<string, unknown>>) => Record<string, unknown>;
  /** The older JSON body's schema from the newer one's (absent: the body is the same). */
  readonly document?: (newer: JsonSchemaObject) => JsonSchemaObject;
}

export interface VersionChange {
  /** Stable, kebab-case: the changelog anchors on it. */
  readonly id: string;
  /** One line for docs/api-changelog.md: what a client of the older version sees change. */
  readonly changelog: string;
  readonly routes: readonly RouteRef[];
  /** `added`: the routes exist from this version on (older versions answer 404). */
  readonly kind: 'changed' | 'added';
  readonly request?: RequestUp;
  readonly response?: ResponseDown;
}

/** A version and the changes it brings over the one before it. */
export interface ApiRelease<V extends string = string> {
  readonly version: V;
  /** When it was released (YYYY-MM-DD), for the changelog. */
  readonly date: string;
  readonly changes: readonly VersionChange[];
}

const propertiesOf = (schema: JsonSchemaObject): Record<string, JsonSchemaObject> =>
  (schema.properties ?? {}) as Record<string, JsonSchemaObject>;

/** The older answer is one field of the newer object (an envelope the newer version added). */
export function unwrapField(field: string): ResponseDown {
  return {
    answer: (newer) => ({ ...newer, body: (newer.body as Record<string, unknown>)[field] }),
    document: (newer) => ({ ...newer, schema: newer.schema === null ? null : (propertiesOf(newer.schema)[field] ?? {}) }),
  };
}

/** The older answer has this status (the body unchanged). */
export function withStatus(status: number): ResponseDown {
  return { answer: (newer) => ({ ...newer, status }), document: (newer) => ({ ...newer, status }) };
}

/** The older answer is a bare 204. */
export function noContent(): ResponseDown {
  return {
    answer: () => ({ status: 204, body: undefined }),
    document: () => ({ status: 204, schema: null }),
  };
}

/** Several response changes as one, applied in the order given. */
export function inOrder(...downs: readonly ResponseDown[]): ResponseDown {
  return {
    answer: (newer) => downs.reduce((answer, down) => down.answer(answer), newer),
    document: (newer) => downs.reduce((documented, down) => down.document(documented), newer),
  };
}
