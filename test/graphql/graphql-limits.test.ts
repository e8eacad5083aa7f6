import { createHash } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

describe('GraphQL limits for a LAN server, each refusal a coded 4xx', () => {
  let t: TestPlane;
  let viewerKey: string;
  let operatorKey: string;

  const post = async (body: Record<string, unknown>, key: string = t.adminKey) => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  const codeOf = (reply: { body: any }) => reply.body.errors?.[0]?.extensions?.code;

  beforeAll(async () => {
    t = await startTestPlane({ graphql: { maxAliases: 3, maxListSize: 100, introspection: 'operator' } });
    viewerKey = (await t.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret;
    operatorKey = (await t.op('keys.create', { name: 'operator', role: 'operator' })).body.secret;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses more aliases than graphql.maxAliases with 400 PH_GRAPHQL_TOO_MANY_ALIASES', async () => {
    const aliased = `{ a: system { status { version } } b: system { status { version } } c: system { status { version } } d: system { status { version } } }`;
    const reply = await post({ query: aliased });
    expect(reply.status).toBe(400);
    expect(reply.body.errors[0].extensions).toMatchObject({ code: 'PH_GRAPHQL_TOO_MANY_ALIASES', details: { aliases: 4, maxAliases: 3 } });
    expect((await post({ query: `{ a: system { status { version } } b: system { status { version } } }` })).status).toBe(200);
  });

  it('refuses a limit above graphql.maxListSize, given inline or as a variable, with 400 PH_GRAPHQL_LIST_TOO_LARGE', async () => {
    const inline = await post({ query: `{ jobs { list(limit: 101) { total } } }` });
    expect(inline.status).toBe(400);
    expect(codeOf(inline)).toBe('PH_GRAPHQL_LIST_TOO_LARGE');
    const variable = await post({ query: `query ($n: Int) { jobs { list(limit: $n) { total } } }`, variables: { n: 250 } });
    expect(codeOf(variable)).toBe('PH_GRAPHQL_LIST_TOO_LARGE');
    expect((await post({ query: `query ($n: Int) { jobs { list(limit: $n) { total } } }`, variables: { n: 100 } })).status).toBe(200);
  });

  it('refuses introspection to a viewer when graphql.introspection is operator, and serves it to an operator', async () => {
    const viewer = await post({ query: getIntrospectionQuery() }, viewerKey);
    expect(viewer.status).toBe(403);
    expect(codeOf(viewer)).toBe('PH_GRAPHQL_INTROSPECTION_OFF');
    const operator = await post({ query: getIntrospectionQuery() }, operatorKey);
    expect(operator.status).toBe(200);
    expect(operator.body.data.__schema.queryType.name).toBe('Query');
    // __typename is not introspection: clients (Apollo, urql) add it to every selection.
    expect((await post({ query: `{ system { __typename status { version } } }` }, viewerKey)).status).toBe(200);
  });

  it('refuses a document the schema does not accept with 400 PH_GRAPHQL_INVALID, and a mutation over GET with 405', async () => {
    const unknown = await post({ query: `{ system { nope } }` });
    expect(unknown.status).toBe(400);
    expect(codeOf(unknown)).toBe('PH_GRAPHQL_INVALID');
    const url = `${t.url}/graphql?query=${encodeURIComponent('mutation { cache { clear { removed } } }')}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(res.status).toBe(405);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('PH_METHOD_NOT_ALLOWED');
  });

  it('accepts only persisted queries from non-admins once an admin switches the allow-list on, by text or by hash', async () => {
    const query = `{ system { status { version } } }`;
    const saved = await post({
      query: `mutation ($q: String!) { graphql { persistedSave(name: "status", query: $q) { query { hash } } } }`,
      variables: { q: query },
    });
    const hash = saved.body.data.graphql.persistedSave.query.hash;
    expect(hash).toBe(createHash('sha256').update(query).digest('hex'));
    expect(
      (await post({ query: `mutation { graphql { persistedEnforce(enabled: false) { enforced } } }` }, operatorKey)).body.errors[0]
        .extensions.code,
    ).toBe('PH_FORBIDDEN');
    expect(
      (await post({ query: `mutation { graphql { persistedEnforce(enabled: true) { enforced } } }` })).body.data.graphql.persistedEnforce,
    ).toEqual({
      enforced: true,
    });
    try {
      const other = await post({ query: `{ jobs { list { total } } }` }, viewerKey);
      expect(other.status).toBe(403);
      expect(codeOf(other)).toBe('PH_GRAPHQL_NOT_PERSISTED');
      expect((await post({ query }, viewerKey)).status).toBe(200);
      const byHash = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }, viewerKey);
      expect(byHash.body.data.system.status.version).toEqual(expect.any(String));
      const unknownHash = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }, viewerKey);
      expect(codeOf(unknownHash)).toBe('PH_GRAPHQL_NOT_PERSISTED');
      // The admin who keeps the list may still try queries out.
      expect((await post({ query: `{ jobs { list { total } } }` })).status).toBe(200);
    } finally {
      await post({ query: `mutation { graphql { persistedEnforce(enabled: false) { enforced } } }` });
    }
  });

  it('refuses to persist a query the schema does not accept', async () => {
    const reply = await post({ query: `mutation { graphql { persistedSave(name: "bad", query: "{ nope }") { query { hash } } } }` });
    expect(reply.body.errors[0].extensions).toMatchObject({ code: 'PH_GRAPHQL_INVALID', field: 'query' });
  });

  it('charges a costly query to the key’s rate limit by its weight, one request per 1,000 of cost', async () => {
    expect((await t.op('ratelimit.tiers.save', { tier: { name: 'tiny', limit: 5, windowSeconds: 60, burst: 0 } })).status).toBe(200);
    const key = (await t.op('keys.create', { name: 'tiny', role: 'viewer' })).body;
    expect((await t.op('ratelimit.keys.assign', { id: key.key.id, tier: 'tiny' })).status).toBe(200);
    // 100 rows of 25 fields: a cost near 2,600, so three requests with the one the request itself counts.
    const heavy = `{ jobs { list(limit: 100) { jobs { id type state priority runAt attemptsMade maxAttempts timeoutMs idempotencyKey repeatCron parentId childPolicy pendingChildren progress progressMessage lastError errors cancelRequested createdAt startedAt finishedAt node waitingFor payload result } } } }`;
    const first = await post({ query: heavy }, key.secret);
    expect(first.status).toBe(200);
    // Its own answer says what its whole weight left: 5 - 3.
    expect(first.headers.get('ratelimit')).toMatch(/^"tiny";r=2;t=\d+$/);
    const second = await post({ query: heavy }, key.secret);
    expect(second.status).toBe(429);
    expect(second.body.errors[0].extensions).toMatchObject({ code: 'PH_RATE_LIMITED', details: { requests: 3 } });
  });

  it('sends a browser that opens /graphql to the console’s explorer, which signs in first', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/#/graphql');
    const api = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ system { status { version } } }')}`);
    expect(api.status).toBe(401);
  });
});
