import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { resolveLocalRefs, schemaCompiler, type SchemaCheck } from '../helpers/openapi';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { invalidFor, valueFor, type Schema } from '../helpers/schema-arbitrary';

/** Requests per operation: small enough for CI on a loaded machine; PH_OPENAPI_RUNS=200 for a deep run. */
const RUNS = Number(process.env.PH_OPENAPI_RUNS ?? 3);
/** About 200 operations, each run a request of a few ms, with room for a loaded machine: 90 s at the CI size. */
const TIME_LIMIT_MS = 60_000 + RUNS * 10_000;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
  style?: string;
  explode?: boolean;
}
interface Answer {
  description: string;
  headers?: Record<string, { schema: Schema }>;
  content?: Record<string, { schema: Schema }>;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, Answer>;
  'x-operation'?: string;
  'x-websocket'?: boolean;
}
interface Walked {
  path: string;
  method: string;
  op: Operation;
}

/**
 * Operations the walk leaves out, each for a reason that is not "it might fail":
 * - `ratelimit.tiers.save` can give the admin key's own tier a budget of one request, after which
 *   every request of the run is a (documented) 429 and nothing else is tested;
 * - the socket is an upgrade, covered by the real-time suites, not a request and an answer.
 */
const SKIPPED = new Set(['ops:ratelimit.tiers.save']);
/** Long-polls would hold a request for up to their `waitMs` (two minutes): capped, in a query or a body, so the run stays bounded. */
const CAPPED: Record<string, number> = { waitMs: 200 };

function capped(name: string, value: unknown): unknown {
  const cap = CAPPED[name];
  return cap !== undefined && typeof value === 'number' ? Math.min(value, cap) : value;
}

/** A body with its long-poll wait capped, and set when left out (the default wait is longer than the cap). */
function capBody(value: unknown, schema: Schema): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const declared = Object.keys((schema.properties ?? {}) as object).filter((name) => CAPPED[name] !== undefined);
  const filled = Object.fromEntries(declared.map((name) => [name, CAPPED[name]]));
  return { ...filled, ...Object.fromEntries(Object.entries(value).map(([name, field]) => [name, capped(name, field)])) };
}
/**
 * 5xx answers that are the API working as documented, not failing: no instance behind a service's
 * name, and no peer node behind a replica's node id (502, as for any replica target it cannot reach).
 */
const EXPECTED_5XX = new Set(['PH_DISCOVERY_NO_INSTANCE', 'PH_BACKUP_REPLICA_UNREACHABLE']);

interface BuiltRequest {
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A path segment the URL parser would fold away (`.`, `..`, also percent-encoded) is not a value the server can see. */
function segment(value: unknown): string {
  const text = String(value);
  const encoded = encodeURIComponent(text === '' ? 'x' : text);
  return /^(\.|%2e){1,2}$/i.test(encoded) ? `x${encoded}` : encoded;
}

function queryValue(param: Parameter, value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(capped(param.name, value));
}

/** What a query string can carry that no schema asked for: text, numbers past every range, other notations. */
const oddQueryValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('99999999999999999999', '9007199254740993', '-1', '1e3', '0x10', '1.5', '', 'true', 'null'),
);

/** A path segment no schema asked for: any text, or longer than the router takes (1024). */
const oddPathValue = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constant('k'.repeat(1100)));

/** Requests for one operation: valid from its schemas, or with a field, a parameter or the body wrong. */
function requestsFor(path: string, op: Operation, seen: Seen): fc.Arbitrary<BuiltRequest> {
  const params = op.parameters ?? [];
  const paramValue = (p: Parameter): fc.Arbitrary<unknown> => {
    // Now and then a value an earlier answer held (a job's id, a cache key), so lookups also find something.
    const known = fc.nat().map((i) => seen.pick(p.name, i));
    const valid = p.in === 'path' ? fc.oneof(valueFor(p.schema), known) : valueFor(p.schema);
    // A long-poll's wait stays a number: an odd one would fall back to the default wait, longer than a request may take here.
    if (CAPPED[p.name] !== undefined) return valid;
    return fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: p.in === 'path' ? oddPathValue : oddQueryValue, weight: 1 });
  };
  const values = fc.record(
    Object.fromEntries(
      params.map((p) => [
        p.name,
        p.required || CAPPED[p.name] !== undefined ? paramValue(p) : fc.option(paramValue(p), { nil: undefined }),
      ]),
    ),
  );
  const json = op.requestBody?.content['application/json']?.schema;
  const body: fc.Arbitrary<string | undefined> =
    json === undefined
      ? fc.constant(undefined)
      : fc.oneof(
          { arbitrary: valueFor(json).map((v) => JSON.stringify(capBody(v, json))), weight: 2 },
          { arbitrary: fc.tuple(valueFor(json), fc.nat()).map(([v, i]) => JSON.stringify(capBody(seen.fill(v, i), json))), weight: 2 },
          { arbitrary: invalidFor(json).map((v) => JSON.stringify(capBody(v, json))), weight: 2 },
          { arbitrary: fc.constantFrom('{', 'null', '', '[1,', '"text"'), weight: 1 },
        );
  return fc.tuple(values, body).map(([given, text]) => {
    let url = path;
    const query = new URLSearchParams();
    const headers: Record<string, string> = {};
    for (const p of params) {
      const value = given[p.name];
      if (value === undefined) continue;
      if (p.in === 'path') url = url.replace(`{${p.name}}`, segment(value));
      else if (p.in === 'query') query.set(p.name, queryValue(p, value));
      else headers[p.name] = String(value);
    }
    if (text !== undefined) headers['content-type'] = 'application/json';
    const search = query.toString();
    return { path: search === '' ? url : `${url}?${search}`, headers, body: text };
  });
}

/**
 * The ids, names and keys answers have held, by field name, for later requests to use: a request for
 * a thing that exists reaches the code (and the answer schema) a random id never does. The admin
 * key's own id is never kept, so the walk cannot revoke the key it runs with.
 */
class Seen {
  readonly #byName = new Map<string, string[]>();
  constructor(private readonly never: string) {}

  collect(value: unknown): void {
    if (Array.isArray(value)) return value.forEach((item) => this.collect(item));
    if (typeof value !== 'object' || value === null) return;
    for (const [name, field] of Object.entries(value)) {
      if (typeof field === 'string' && ['id', 'name', 'namespace', 'key'].includes(name) && field !== this.never && field !== '') {
        const list = this.#byName.get(name) ?? [];
        if (!list.includes(field)) this.#byName.set(name, [...list, field].slice(-50));
      } else this.collect(field);
    }
  }

  /** The body with its id-like fields set to things that exist, where some do. */
  fill(value: unknown, index: number): unknown {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const known = Object.keys(value).filter((name) => (this.#byName.get(name)?.length ?? 0) > 0);
    return { ...value, ...Object.fromEntries(known.map((name) => [name, this.pick(name, index)])) };
  }

  pick(name: string, index: number): string {
    const list = this.#byName.get(name) ?? [];
    return list.length === 0 ? 'none-yet' : (list[index % list.length] as string);
  }
}

/** What is wrong with an answer, as the document describes the operation; null when nothing is. */
function judge(
  op: Operation,
  status: number,
  type: string,
  headers: Headers,
  text: string,
  compile: (s: Schema) => SchemaCheck,
): string | null {
  let parsed: unknown = undefined;
  const isJson = type === 'application/json';
  if (isJson) {
    try {
      parsed = JSON.parse(text);
    } catch {
      return `${status} says JSON but is not: ${text.slice(0, 120)}`;
    }
  }
  const code = (parsed as { error?: { code?: string } } | undefined)?.error?.code;
  if (status >= 500 && !EXPECTED_5XX.has(code ?? '')) return `${status} ${code ?? ''}: ${text.slice(0, 200)}`;
  const answer = op.responses[String(status)] ?? op.responses.default;
  if (answer === undefined) return `${status} is not a documented answer: ${text.slice(0, 200)}`;
  const media = answer.content ?? {};
  if (Object.keys(media).length === 0) return text === '' ? null : `${status} should have no body: ${text.slice(0, 120)}`;
  const described = media[type] ?? media['*/*'];
  if (described === undefined) return `${status} came as ${type}, documented ${Object.keys(media).join(', ')}`;
  if (isJson) {
    const check = compile(described.schema);
    if (!check(parsed)) return `${status} body is outside its schema (${JSON.stringify(check.errors?.[0])}): ${text.slice(0, 300)}`;
  }
  for (const [name, header] of Object.entries(answer.headers ?? {})) {
    const value = headers.get(name);
    if (value === null) continue;
    const typed = header.schema.type === 'integer' ? Number(value) : value;
    if (!compile(header.schema)(typed)) return `${status} header ${name}: ${value} is outside its schema`;
  }
  return null;
}

describe('the API, driven by its own document', () => {
  let redis: TestRedis;
  let t: TestPlane;
  let walked: Walked[];

  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestPlane({ redisUrl: redis.url });
    const served = await (await fetch(`${t.url}/api/docs/json`)).json();
    const doc = resolveLocalRefs(served) as { paths: Record<string, Record<string, Operation>> };
    // Creations first and deletions last, so that reads and changes meet things that exist.
    const order = ['post', 'put', 'patch', 'get', 'options', 'delete'];
    walked = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })))
      .sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
  });

  it(
    'answers every documented operation, with valid and invalid requests, with no 5xx and nothing outside its schema',
    async () => {
      const ajv = schemaCompiler({ strict: false });
      const compiled = new Map<string, SchemaCheck>();
      const compile = (schema: Schema): SchemaCheck => {
        const key = JSON.stringify(schema);
        let check = compiled.get(key);
        if (check === undefined) {
          check = ajv.compile(schema);
          compiled.set(key, check);
        }
        return check;
      };
      const failures: string[] = [];
      let sent = 0;
      const seen = new Seen(t.adminKey.split('_')[1] ?? '');
      for (const { path, method, op } of walked) {
        if (SKIPPED.has(op.operationId) || op['x-websocket'] === true) continue;
        const property = fc.asyncProperty(requestsFor(path, op, seen), async (req) => {
          sent += 1;
          const sentAs = `${method.toUpperCase()} ${req.path} ${req.body ?? ''}`;
          const res = await fetch(`${t.url}${req.path}`, {
            method: method.toUpperCase(),
            headers: { authorization: `Bearer ${t.adminKey}`, ...req.headers },
            body: req.body,
            signal: AbortSignal.timeout(20_000),
          }).catch((err: unknown) => {
            throw new Error(`${sentAs} → no answer: ${(err as Error).message}`);
          });
          const text = await res.text();
          const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
          const wrong = judge(op, res.status, type, res.headers, text, compile);
          if (wrong === null && res.status < 300 && type === 'application/json') seen.collect(JSON.parse(text));
          if (wrong !== null) throw new Error(`${sentAs} → ${wrong}`);
        });
        // No shrinking: the first bad request is reported as it was, and the run stays bounded.
        const result = await fc.check(property, { numRuns: RUNS, endOnFailure: true });
        if (result.failed) failures.push(String((result.errorInstance as Error | undefined)?.message ?? result.counterexample));
      }
      expect(failures).toEqual([]);
      expect(sent).toBeGreaterThan(walked.length);
    },
    TIME_LIMIT_MS,
  );
});
