import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersions } from '../../contract/api-versions';
import { serverEndpoints } from '../../contract/endpoints';
import { errorCatalogue } from '../../contract/errors';
import { operationNames, operations } from '../../contract/operations';
import { restRoutes, routeRef } from '../../contract/routes';
import { versionsServing } from '../../contract/versions';
import { apiDocument } from '../../main/http/openapi';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { checkOpenApi, resolveLocalRefs, schemaCompiler } from '../helpers/openapi';

type Operation = { responses: Record<string, any>; deprecated?: boolean; parameters?: any[]; requestBody?: any; 'x-min-role': string };
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'] as const;

function operationsOf(doc: { paths: Record<string, Record<string, Operation>> }): { path: string; method: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((method) => ({ path, method, op: item[method] as Operation })),
  );
}

/** Every schema in a resolved document: parameters, bodies, answers and headers. */
function schemasOf(resolved: any): { where: string; schema: unknown }[] {
  const found: { where: string; schema: unknown }[] = [];
  for (const { path, method, op } of operationsOf(resolved)) {
    const at = `${method.toUpperCase()} ${path}`;
    for (const p of op.parameters ?? []) found.push({ where: `${at} ${p.in} ${p.name}`, schema: p.schema });
    for (const [type, media] of Object.entries<any>(op.requestBody?.content ?? {}))
      found.push({ where: `${at} body ${type}`, schema: media.schema });
    for (const [status, answer] of Object.entries<any>(op.responses)) {
      for (const [type, media] of Object.entries<any>(answer.content ?? {}))
        found.push({ where: `${at} ${status} ${type}`, schema: media.schema });
      for (const [name, header] of Object.entries<any>(answer.headers ?? {}))
        found.push({ where: `${at} ${status} ${name}`, schema: header.schema });
    }
  }
  return found;
}

describe('the API document', () => {
  type Loose = { paths: Record<string, Record<string, any>>; components: Record<string, any> };
  const doc = apiDocument('test') as unknown as Loose;

  it('validates as OpenAPI 3.1, and every schema in it compiles as strict JSON Schema 2020-12', async () => {
    const checked = await checkOpenApi(doc);
    expect(checked.errors).toBeUndefined();
    expect(checked.valid).toBe(true);
    const ajv = schemaCompiler({ strict: true });
    const broken: string[] = [];
    // Many answers share a schema (the error envelopes, the headers): each distinct one is compiled once.
    const distinct = new Map(schemasOf(resolveLocalRefs(doc)).map((found) => [JSON.stringify(found.schema), found]));
    for (const { where, schema } of distinct.values()) {
      try {
        ajv.compile(schema);
      } catch (err) {
        broken.push(`${where}: ${(err as Error).message}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('describes every route of the table in each version it is served in and under /api, v1 deprecated', () => {
    for (const route of restRoutes) {
      const path = route.path.replaceAll(/:(\w+)/g, '{$1}');
      const method = route.method.toLowerCase();
      for (const version of apiVersions) {
        const op = doc.paths[`/api/${version}${path}`]?.[method];
        if (!versionsServing(routeRef(route)).includes(version)) {
          expect(op, `${route.method} ${route.path} is not served in ${version}`).toBeUndefined();
          continue;
        }
        expect(op, `${route.method} /api/${version}${route.path}`).toBeDefined();
        expect(op?.deprecated === true).toBe(version === 'v1');
        expect(op?.['x-min-role']).toBe(operations[route.operation].minRole);
      }
      const negotiated = doc.paths[`/api${path}`]?.[method] as Operation | undefined;
      expect(negotiated?.parameters?.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'API-Version')).toBe(true);
    }
  });

  it('gives each route its real success answers: 201, 204, CSV and the snapshot download', () => {
    const ok = (path: string, method: string) => Object.keys(doc.paths[path]?.[method]?.responses ?? {}).filter((s) => /^[23]/.test(s));
    expect(ok('/api/v2/services', 'post')).toEqual(['201']);
    expect(ok('/api/v1/services', 'post')).toEqual(['200']);
    expect(ok('/api/v2/cache/{namespace}/{key}', 'put')).toEqual(['204']);
    expect(ok('/api/v1/services/{id}', 'delete')).toEqual(['204']);
    expect(ok('/api/services/{id}', 'delete').sort()).toEqual(['200', '204']);
    const usage = doc.paths['/api/v2/monitoring/usage']?.get.responses['200'];
    expect(Object.keys(usage.content).sort()).toEqual(['application/json', 'text/csv']);
    expect(usage.headers['Content-Disposition']).toBeDefined();
    const download = doc.paths['/api/v2/backups/snapshots/{id}/download']?.get.responses['200'];
    expect(Object.keys(download.content)).toEqual(['application/vnd.sqlite3']);
    expect(Object.keys(doc.paths['/api/v2/monitoring/health']?.get?.responses ?? {})).toContain('503');
  });

  it('describes the request: path, query (kinds and defaults) and the body without what the path supplies', () => {
    const put = doc.paths['/api/v2/cache/{namespace}/{key}']?.put as Operation;
    expect(put.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:namespace', 'path:key']);
    const body = put.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).not.toContain('namespace');
    expect(Object.keys(body.properties)).toContain('value');
    const history = doc.paths['/api/v2/monitoring/history']?.get as Operation;
    const series = history.parameters?.find((p) => p.name === 'series');
    expect(series).toMatchObject({ in: 'query', style: 'form', explode: false, schema: { type: 'array' } });
    expect(history.parameters?.find((p) => p.name === 'step')?.schema.type).toBe('integer');
    const usage = doc.paths['/api/v2/monitoring/usage']?.get as Operation;
    expect(usage.parameters?.find((p) => p.name === 'format')?.schema.default).toBe('json');
    const services = doc.paths['/api/v2/services']?.get as Operation;
    expect(services.parameters?.find((p) => p.name === 'index')?.description).toMatch(/^Present: /);
    // A segment named for the routes beside it says which field it carries.
    const pick = doc.paths['/api/v2/services/{id}/pick']?.get as Operation;
    expect(pick.parameters?.find((p) => p.name === 'id')?.description).toContain('`name`');
  });

  it("answers every error with the catalogue's envelope, its codes at their catalogue status", () => {
    const responses = (doc.components.responses ?? {}) as Record<string, any>;
    for (const { path, method, op } of operationsOf(doc)) {
      for (const [status, answer] of Object.entries<any>(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        const resolved = answer.$ref === undefined ? answer : responses[answer.$ref.split('/').pop()];
        const codes: string[] | undefined = resolved.content?.['application/json']?.schema?.properties?.error?.properties?.code?.enum;
        if (codes === undefined) continue;
        for (const code of codes)
          expect(`${method} ${path} ${status} ${code}`).toBe(
            `${method} ${path} ${errorCatalogue[code as keyof typeof errorCatalogue].status} ${code}`,
          );
      }
    }
    const cacheGet = doc.paths['/api/v2/cache/{namespace}/{key}']?.get?.responses['404'];
    expect(JSON.stringify(responses[cacheGet.$ref.split('/').pop()])).toContain('PH_CACHE_MISS');
  });

  it('describes the version, deprecation and rate-limit headers on the answers that carry them', () => {
    const answer = (path: string) => {
      const r = doc.paths[path]?.get?.responses['200'];
      return Object.keys(r.headers ?? {});
    };
    expect(answer('/api/v1/jobs')).toEqual(
      expect.arrayContaining(['API-Version', 'Deprecation', 'Sunset', 'RateLimit-Policy', 'RateLimit']),
    );
    expect(answer('/api/v2/jobs')).toEqual(expect.arrayContaining(['API-Version', 'RateLimit-Policy', 'RateLimit']));
    expect(answer('/api/v2/jobs')).not.toContain('Deprecation');
    expect(answer('/healthz')).toEqual(['RateLimit-Policy', 'RateLimit']);
  });

  it('describes every operation and every unversioned endpoint of the server', () => {
    for (const name of operationNames) expect(doc.paths[`/api/v2/ops/${name}`]?.post, name).toBeDefined();
    for (const endpoint of serverEndpoints) {
      const path = endpoint.path.replaceAll(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}');
      for (const method of endpoint.methods) expect(doc.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
    }
    for (const path of ['/healthz', '/readyz', '/metrics', '/ws', '/gw/{service}/{path}', '/api/v2/session'])
      expect(doc.paths[path]).toBeDefined();
    expect(doc.paths['/healthz']?.get?.['security' as keyof Operation]).toEqual([]);
  });
});

describe('the API document, as the server serves it', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('serves the generated document at /api/docs/json, and the browsable page at /api/docs', async () => {
    const served = await (await fetch(`${t.url}/api/docs/json`)).json();
    expect(served).toEqual(JSON.parse(JSON.stringify(apiDocument(t.plane.status().version))));
    expect((await fetch(`${t.url}/api/docs`)).status).toBe(200);
  });

  it('mounts every operation the document describes (the socket is an upgrade, not a route)', () => {
    const app = t.plane.running.http.app;
    const missing: string[] = [];
    for (const { path, method, op } of operationsOf(apiDocument('test') as never)) {
      if ((op as { 'x-websocket'?: boolean })['x-websocket'] === true) continue;
      const url = path.replaceAll(/\{(\w+)\}/g, ':$1').replace(/\/:path$/, '/*');
      // With the console built, `/` is served by the static files' catch-all.
      const urls = url === '/' ? ['/', '/*'] : [url];
      if (!urls.some((u) => app.hasRoute({ method: method.toUpperCase() as 'GET', url: u }))) missing.push(`${method} ${path}`);
    }
    expect(missing).toEqual([]);
  });
});
