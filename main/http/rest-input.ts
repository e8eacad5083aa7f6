import type { QueryKind, RestInput, RestRoute } from '../../contract/routes';

/** An integer as a query writes it; a negative one is read too, so the schema's minimum names what is wrong with it. */
const INTEGER = /^-?\d+$/;

function fromQuery(value: unknown, kind: QueryKind): unknown {
  if (typeof value !== 'string') return value;
  switch (kind) {
    case 'string':
      return value === '' ? undefined : value;
    case 'integer':
      // Anything else goes on as it is, so the operation's schema names the field.
      return value === '' ? undefined : INTEGER.test(value) ? Number(value) : value;
    case 'flag':
      return value === 'true' ? true : undefined;
    case 'list':
      return value.split(',').filter((item) => item !== '');
  }
}

/**
 * The operation input a request carries, as its route declares: defaults, then the body, then the
 * query, then the path parameters (the URL names the thing; a body cannot point elsewhere).
 */
export function restInput(route: RestRoute, request: { params: unknown; query: unknown; body: unknown }): Record<string, unknown> {
  const spec: RestInput = route.input ?? {};
  const input: Record<string, unknown> = {};
  const body = request.body;
  if (spec.body === 'merge') {
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) Object.assign(input, body);
  } else if (spec.body !== undefined && body !== undefined) {
    input[spec.body.field] = body;
  }
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const [name, how] of Object.entries(spec.query ?? {})) {
    const [field, kind] = typeof how === 'string' ? [name, how] : how;
    const value = fromQuery(query[name], kind);
    if (value !== undefined) input[field] = value;
  }
  for (const [name, value] of Object.entries((request.params ?? {}) as Record<string, string>)) {
    input[spec.params?.[name] ?? name] = value;
  }
  for (const [field, value] of Object.entries(spec.defaults ?? {})) if (input[field] === undefined) input[field] = value;
  return input;
}
