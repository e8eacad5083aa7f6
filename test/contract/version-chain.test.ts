import { describe, expect, it } from 'vitest';
import { replyOf, restRoutes, routeRef } from '../../contract/routes';
import { apiReleases, versionChain, type ApiRelease } from '../../contract/versions';
import { unwrapField, withStatus } from '../../contract/versions/change';

/** A made-up v3 in one declaration, as adding it for real would be: it renames a request field and wraps an answer. */
const v3: ApiRelease<'v1' | 'v2' | 'v3'> = {
  version: 'v3',
  date: '2027-01-01',
  changes: [
    {
      id: 'ttl-in-seconds',
      kind: 'changed',
      changelog: 'TTLs are given in seconds (`ttlSeconds`), not milliseconds.',
      routes: ['PUT /cache/:namespace/:key'],
      request: {
        input: ({ ttlMs, ...rest }) => ({ ...rest, ...(ttlMs === undefined ? {} : { ttlSeconds: Number(ttlMs) / 1000 }) }),
        document: (newer) => ({ ...newer, properties: { ttlMs: { type: 'integer' } } }),
      },
    },
    {
      id: 'services-list-total',
      kind: 'changed',
      changelog: 'Service lists come as `{list: {instances, index}, total}`.',
      routes: ['GET /services'],
      response: unwrapField('list'),
    },
  ],
};

const chain = versionChain<'v1' | 'v2' | 'v3'>('v1', [...(apiReleases as readonly ApiRelease<'v2'>[]), v3]);

describe('the version chain', () => {
  it('brings a v1 answer down through v3 and v2 in turn, newest change first', () => {
    const latest = { status: 200, body: { list: { instances: [{ id: 'a' }], index: 4 }, total: 1 } };
    expect(chain.downgradeAnswer('GET /services', 'v3', latest)).toEqual(latest);
    expect(chain.downgradeAnswer('GET /services', 'v2', latest).body).toEqual({ instances: [{ id: 'a' }], index: 4 });
    expect(chain.downgradeAnswer('GET /services', 'v1', latest).body).toEqual([{ id: 'a' }]);
  });

  it('brings an older request up through every change since its version, and documents the older body', () => {
    const older = { namespace: 'n', key: 'k', value: 1, ttlMs: 1500 };
    expect(chain.upgradeInput('PUT /cache/:namespace/:key', 'v1', older)).toEqual({ namespace: 'n', key: 'k', value: 1, ttlSeconds: 1.5 });
    expect(chain.upgradeInput('PUT /cache/:namespace/:key', 'v3', older)).toEqual(older);
    expect(chain.changesRoute('PUT /cache/:namespace/:key', 'v2')).toEqual({ request: true, response: false });
    expect(chain.downgradeRequestSchema('PUT /cache/:namespace/:key', 'v2', { type: 'object' })).toEqual({
      type: 'object',
      properties: { ttlMs: { type: 'integer' } },
    });
  });

  it('documents what it sends: the same transform rewrites the answer and its schema', () => {
    const documented = chain.downgradeDocumented('POST /services', 'v1', {
      status: 201,
      schema: { type: 'object', properties: { instance: { type: 'object', title: 'instance' } } },
    });
    expect(documented).toEqual({ status: 200, schema: { type: 'object', title: 'instance' } });
    expect(withStatus(204).document({ status: 200, schema: null })).toEqual({ status: 204, schema: null });
  });

  it('serves an added route only from the release that added it', () => {
    expect(chain.versionsServing('GET /monitoring/health')).toEqual(['v2', 'v3']);
    expect(chain.versionsServing('GET /jobs')).toEqual(['v1', 'v2', 'v3']);
  });

  it('names in every declaration only routes of the table, and rewrites only JSON and empty answers', () => {
    const byRef = new Map(restRoutes.map((route) => [routeRef(route), route]));
    for (const release of apiReleases)
      for (const change of release.changes)
        for (const ref of change.routes) {
          const route = byRef.get(ref);
          expect(route, `${change.id} names ${ref}`).toBeDefined();
          if ('response' in change && route !== undefined) expect(['json', 'empty']).toContain(replyOf(route).kind);
        }
  });
});
