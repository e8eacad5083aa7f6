import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EventBus } from '../../main/events';
import { HttpServer } from '../../main/http';
import { createLogger } from '../../main/logger';
import { Metrics } from '../../main/monitoring';
import { OperationDispatcher, type OperationHandlers } from '../../main/ops';
import {
  ApiKeyStore,
  AuditLog,
  AuthThrottle,
  Authenticator,
  SecretStore,
  SessionTokens,
  securityHandlers,
  securityMigrations,
} from '../../main/security';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

/** A handler that fails the way real bugs do: a plain Error naming a file path, with a stack. */
function explode(): never {
  const err = new Error(`ENOENT: no such file or directory, open '/home/operator/.pilothouse/secret/config.json'`);
  err.stack = `${err.message}\n    at explode (/work/main/main/system/operations.ts:12:7)`;
  throw err;
}

describe('errors reaching clients', () => {
  let dir: { path: string; remove: () => void };
  let db: Database;
  let server: HttpServer;
  let key: string;
  let url: string;

  beforeAll(async () => {
    dir = tempDir();
    db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations });
    const clock = { now: () => Date.now() };
    const keys = new ApiKeyStore(db, clock);
    const audit = new AuditLog(db, clock, { key: randomBytes(32), headPath: null });
    const sessions = new SessionTokens(db, keys, clock, new SecretStore(dir.path));
    const bus = new EventBus();
    const logger = createLogger('silent');
    const metrics = new Metrics();
    key = keys.create({ name: 'admin', role: 'admin' }, 'test').secret;
    const handlers = {
      ...securityHandlers({ keys, audit, sessions, bus, now: clock.now }),
      'system.status': () => explode(),
      'system.config': () => {
        throw new TypeError("Cannot read properties of undefined (reading 'port')");
      },
    } as unknown as OperationHandlers;
    server = new HttpServer({
      host: '127.0.0.1',
      port: 0,
      version: 'test',
      consoleDir: undefined,
      logger,
      metrics,
      authenticator: new Authenticator(
        keys,
        sessions,
        new AuthThrottle({ clock, logger, registry: metrics.registry, audit: () => undefined }),
      ),
      sessions,
      dispatcher: new OperationDispatcher(handlers as unknown as OperationHandlers, audit),
      bus,
      readiness: () => ({ ready: true, services: [] }),
      routes: [{ method: 'GET', path: '/boom', access: 'viewer', summary: 'fails', versions: { v2: () => explode() } }],
    });
    await server.start();
    url = `http://127.0.0.1:${server.address.port}`;
  });
  afterAll(async () => {
    await server?.stop();
    db?.close();
    dir?.remove();
  });

  it('turns a thrown Error into PH_INTERNAL with no message, path or stack from inside', async () => {
    for (const [method, path] of [
      ['POST', '/api/v2/ops/system.status'],
      ['POST', '/api/v2/ops/system.config'],
      ['GET', '/api/v2/boom'],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toEqual({ error: { code: 'PH_INTERNAL', message: 'Something went wrong inside Pilothouse' } });
      expect(text).not.toMatch(/ENOENT|\/home\/|\/work\/|operations\.ts|\bat \w+|TypeError|undefined/);
    }
  });
});
