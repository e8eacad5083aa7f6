import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiVersions } from '../../contract/api-versions';
import { serverEndpoints } from '../../contract/endpoints';
import { PhError } from '../../contract/errors';
import { isOperationName, operationNames, operations } from '../../contract/operations';
import { roleAllows } from '../../contract/roles';
import type { Role } from '../../contract/roles';
import { restRoutes, routeRef, routeTable } from '../../contract/routes';
import { versionsServing } from '../../contract/versions';
import type { Caller, OperationHandlers } from '../../main/core';
import { EventBus } from '../../main/events';
import { HttpServer } from '../../main/http';
import { createLogger } from '../../main/logger';
import { Metrics } from '../../main/monitoring';
import { OperationDispatcher } from '../../main/ops';
import { ApiKeyStore, AuditLog, AuthThrottle, Authenticator, SecretStore, SessionTokens, securityMigrations } from '../../main/security';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

/**
 * A dispatcher that records which operation each request reached. A caller whose role the operation
 * allows gets PH_CONFLICT (no handler runs); any other gets the real dispatcher's refusal.
 */
class RecordingDispatcher extends OperationDispatcher {
  readonly calls: { name: string; input: unknown; role: Role }[] = [];
  override async call(name: string, input: unknown, caller: Caller): Promise<unknown> {
    this.calls.push({ name, input, role: caller.role });
    if (isOperationName(name) && !roleAllows(caller.role, operations[name].minRole)) return super.call(name, input, caller);
    throw new PhError('PH_CONFLICT', 'recorded');
  }
}

/** The server's own endpoints (contract/endpoints.ts): everything else must come from the contract's route table. */
const serverEndpointPaths = new Set(serverEndpoints.map((e) => e.path));

describe('the REST route table, as the server mounts it', () => {
  let dir: { path: string; remove: () => void };
  let db: Database;
  let server: HttpServer;
  let dispatcher: RecordingDispatcher;
  const mounted: { method: string; url: string }[] = [];
  const keys: Partial<Record<Role, string>> = {};
  let url: string;

  beforeAll(async () => {
    dir = tempDir();
    db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations });
    const clock = { now: () => Date.now() };
    const keyStore = new ApiKeyStore(db, clock);
    const audit = new AuditLog(db, clock, { key: randomBytes(32), headPath: null });
    const sessions = new SessionTokens(db, keyStore, clock, new SecretStore(dir.path));
    const logger = createLogger('silent');
    const metrics = new Metrics();
    for (const role of ['viewer', 'operator', 'admin'] as const) keys[role] = keyStore.create({ name: role, role }, 'test').secret;
    dispatcher = new RecordingDispatcher({} as OperationHandlers, audit);
    server = new HttpServer({
      host: '127.0.0.1',
      port: 0,
      version: 'test',
      consoleDir: undefined,
      logger,
      metrics,
      authenticator: new Authenticator(
        keyStore,
        sessions,
        new AuthThrottle({ clock, logger, registry: metrics.registry, audit: () => undefined }),
      ),
      sessions,
      dispatcher,
      bus: new EventBus(),
      readiness: () => ({ ready: true, services: [] }),
    });
    server.app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') mounted.push({ method, url: route.url });
    });
    await server.start();
    url = `http://127.0.0.1:${server.address.port}`;
  });
  afterAll(async () => {
    await server?.stop();
    db?.close();
    dir?.remove();
  });

  function request(method: string, path: string, role: Role): Promise<Response> {
    const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
    const headers: Record<string, string> = { authorization: `Bearer ${keys[role]}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${url}${path}`, { method, headers, body });
  }

  it('mounts no route but the table, the operations and the server endpoints', () => {
    const fromTable = new Set(
      routeTable().flatMap((row) => [
        `${row.method} /api${row.path}`,
        ...row.versions.map((version) => `${row.method} /api/${version}${row.path}`),
      ]),
    );
    const operationsRoutes = new Set(operationNames.map((name) => `POST /api/v2/ops/${name}`));
    const strays = mounted
      .map((route) => `${route.method} ${route.url}`)
      .filter((route) => !fromTable.has(route) && !operationsRoutes.has(route))
      .filter((route) => !serverEndpointPaths.has(route.split(' ')[1] ?? '') && !route.includes('/api/docs'));
    expect(strays).toEqual([]);
    for (const route of fromTable) expect(mounted.map((r) => `${r.method} ${r.url}`)).toContain(route);
  });

  it('hands every route of the table to the dispatcher with its operation, in every version it is served in', async () => {
    for (const route of restRoutes) {
      const path = route.path.replaceAll(/:(\w+)/g, 'x-$1') + (route.whenQuery === undefined ? '' : `?${route.whenQuery}=1`);
      for (const version of apiVersions) {
        if (!versionsServing(routeRef(route)).includes(version)) continue;
        dispatcher.calls.length = 0;
        const res = await request(route.method, `/api/${version}${path}`, 'admin');
        expect(res.status, `${route.method} ${route.path} ${version}`).toBe(409);
        expect(dispatcher.calls.map((c) => c.name)).toEqual([route.operation]);
      }
    }
  });

  it('lets in only the role the operation declares: the dispatcher refuses a lower one and puts a write attempt on record', async () => {
    const refusalsOnRecord = (): number =>
      (db.prepare("SELECT count(*) AS n FROM audit_log WHERE outcome = 'error' AND detail = 'PH_FORBIDDEN'").get() as { n: number }).n;
    for (const row of routeTable()) {
      const below: Role | null = row.role === 'admin' ? 'operator' : row.role === 'operator' ? 'viewer' : null;
      if (below === null || row.whenQuery !== undefined) continue;
      const before = refusalsOnRecord();
      const res = await request(row.method, `/api/${row.versions[0]}${row.path.replaceAll(/:(\w+)/g, 'x')}`, below);
      expect(res.status, `${row.method} ${row.path} as ${below}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PH_FORBIDDEN');
      expect(refusalsOnRecord() - before, `${row.operation} on record`).toBe(operations[row.operation].mutating ? 1 : 0);
    }
  });

  it('builds the input from the path, query and body as the row declares', async () => {
    dispatcher.calls.length = 0;
    await request('GET', '/api/v2/services/web/pick?key=user-7', 'viewer');
    await request('GET', '/api/v2/monitoring/history?series=a,b&step=10&from=5', 'viewer');
    await request('GET', '/api/v2/jobs?limit=ten&state=', 'viewer');
    await request('GET', '/api/v2/jobs?limit=-1', 'viewer');
    expect(dispatcher.calls.map((c) => c.input)).toEqual([
      { name: 'web', key: 'user-7' },
      { series: ['a', 'b'], stepSeconds: 10, from: 5 },
      { limit: 'ten' },
      // A number, so the schema's minimum is what refuses it, not "Expected integer".
      { limit: -1 },
    ]);
  });
});
