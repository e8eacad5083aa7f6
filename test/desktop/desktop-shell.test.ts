import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { eventChannel, operationChannel } from '../../contract/ipc';
import { operationNames } from '../../contract/operations';
import { contentSecurityPolicy } from '../../main/desktop/content-security-policy';
import { registerIpcBridge, type IpcMainLike } from '../../main/desktop/ipc-bridge';
import { isTrustedConsoleUrl } from '../../main/desktop/trusted-url';
import { EventBus } from '../../main/events';
import { OperationDispatcher, type OperationHandlers } from '../../main/ops';
import { ApiKeyStore, AuditLog, SecretStore, SessionTokens, securityHandlers, securityMigrations } from '../../main/security';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

describe('desktop shell policy', () => {
  it('trusts only the console itself, parsing URLs rather than matching prefixes', () => {
    const built = 'file:///opt/pilothouse/out/renderer/index.html';
    expect(isTrustedConsoleUrl('file:///opt/pilothouse/out/renderer/index.html#/audit', built)).toBe(true);
    expect(isTrustedConsoleUrl('file:///opt/pilothouse/out/renderer/index.html.evil', built)).toBe(false);
    expect(isTrustedConsoleUrl('file:///etc/passwd', built)).toBe(false);
    expect(isTrustedConsoleUrl('https://example.com/', built)).toBe(false);
    const dev = 'http://localhost:5173';
    expect(isTrustedConsoleUrl('http://localhost:5173/#/cache', dev)).toBe(true);
    expect(isTrustedConsoleUrl('http://localhost:5173@evil.example/', dev)).toBe(false);
    expect(isTrustedConsoleUrl('http://user:pw@localhost:5173/', dev)).toBe(false);
    expect(isTrustedConsoleUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isTrustedConsoleUrl('not a url', dev)).toBe(false);
  });

  it('sends a CSP that allows only our own scripts and no inline code', () => {
    const csp = contentSecurityPolicy(null);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
  });
});

describe('IPC bridge', () => {
  type Listener = Parameters<IpcMainLike['handle']>[1];
  /** Records handlers the way Electron's ipcMain does, so the real wiring can be invoked in Node. */
  function recordingIpcMain() {
    const handlers = new Map<string, Listener>();
    return {
      handlers,
      handle: (channel: string, listener: Listener) => {
        if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
        handlers.set(channel, listener);
      },
      removeHandler: (channel: string) => void handlers.delete(channel),
    };
  }

  function setup() {
    const dir = tempDir();
    const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations });
    const clock = { now: () => Date.now() };
    const keys = new ApiKeyStore(db, clock);
    const audit = new AuditLog(db, clock, { key: randomBytes(32), headPath: null });
    const secrets = new SecretStore(dir.path);
    const sessions = new SessionTokens(db, keys, clock, secrets);
    const bus = new EventBus();
    const handlers = {
      ...securityHandlers({ keys, audit, sessions, bus, now: clock.now }),
      'system.status': () => {
        throw new Error('not under test');
      },
      'system.config': () => {
        throw new Error('not under test');
      },
    } as unknown as OperationHandlers;
    audit.onAppend((entry) => bus.publish('audit.appended', entry));
    const ipc = recordingIpcMain();
    const sent: unknown[][] = [];
    const dispose = registerIpcBridge({
      ipcMain: ipc,
      dispatcher: new OperationDispatcher(handlers, audit),
      events: bus,
      isTrustedSender: (url) => isTrustedConsoleUrl(url, 'file:///app/index.html'),
      target: () => ({ send: (...args: unknown[]) => void sent.push(args), isDestroyed: () => false }),
    });
    return { ipc, sent, dispose, cleanup: () => (db.close(), dir.remove()) };
  }

  it('registers exactly one channel per declared operation and removes them on dispose', () => {
    const { ipc, dispose, cleanup } = setup();
    expect([...ipc.handlers.keys()].sort()).toEqual(operationNames.map(operationChannel).sort());
    dispose();
    expect(ipc.handlers.size).toBe(0);
    cleanup();
  });

  it('runs calls from the console frame as the desktop admin and forwards events as plain messages', async () => {
    const { ipc, sent, cleanup } = setup();
    const create = ipc.handlers.get(operationChannel('keys.create'))!;
    const reply = (await create({ senderFrame: { url: 'file:///app/index.html' } }, { name: 'from-desktop', role: 'viewer' })) as any;
    expect(reply.ok).toBe(true);
    expect(reply.result.secret).toMatch(/^ph_/);
    expect(sent).toHaveLength(1);
    expect(sent[0]![0]).toBe(eventChannel);
    expect(sent[0]![1]).toMatchObject({ event: 'audit.appended', payload: { actor: 'desktop', action: 'keys.create' } });
    expect(Object.keys(sent[0]![1] as object).sort()).toEqual(['event', 'payload']);
    cleanup();
  });

  it('refuses calls from any other frame, and returns coded errors as values', async () => {
    const { ipc, cleanup } = setup();
    const list = ipc.handlers.get(operationChannel('keys.list'))!;
    expect(await list({ senderFrame: { url: 'https://evil.example/' } }, {})).toMatchObject({ ok: false, error: { code: 'PH_FORBIDDEN' } });
    expect(await list({ senderFrame: null }, {})).toMatchObject({ ok: false, error: { code: 'PH_FORBIDDEN' } });
    const create = ipc.handlers.get(operationChannel('keys.create'))!;
    expect(await create({ senderFrame: { url: 'file:///app/index.html' } }, { name: '' })).toMatchObject({
      ok: false,
      error: { code: 'PH_INVALID_INPUT' },
    });
    cleanup();
  });
});
