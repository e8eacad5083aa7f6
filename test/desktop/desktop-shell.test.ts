import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { eventChannel, operationChannel } from '../../contract/ipc';
import { operationNames } from '../../contract/operations';
import type { OperationHandlers } from '../../main/core';
import { CONSOLE_ORIGIN, consoleFile, consoleLocation } from '../../main/desktop/console-source';
import { contentSecurityPolicy } from '../../main/desktop/content-security-policy';
import { allowedExternalUrl } from '../../main/desktop/external-links';
import { registerIpcBridge, type IpcMainLike } from '../../main/desktop/ipc-bridge';
import { isTrustedConsoleUrl } from '../../main/desktop/trusted-url';
import { EventBus } from '../../main/events';
import { OperationDispatcher } from '../../main/ops';
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

describe('where the desktop console comes from', () => {
  it('honours ELECTRON_RENDERER_URL only in an unpackaged build, and only on loopback', () => {
    const built = { url: `${CONSOLE_ORIGIN}/index.html`, devOrigin: null };
    expect(consoleLocation({ isPackaged: true, devUrl: 'http://localhost:5173' })).toEqual(built);
    expect(consoleLocation({ isPackaged: true, devUrl: 'https://evil.example/' })).toEqual(built);
    expect(consoleLocation({ isPackaged: false, devUrl: 'https://evil.example/' })).toEqual(built);
    expect(consoleLocation({ isPackaged: false, devUrl: 'file:///tmp/evil.html' })).toEqual(built);
    expect(consoleLocation({ isPackaged: false, devUrl: 'http://user:pw@localhost:5173/' })).toEqual(built);
    expect(consoleLocation({ isPackaged: false, devUrl: undefined })).toEqual(built);
    expect(consoleLocation({ isPackaged: false, devUrl: 'http://localhost:5173' })).toEqual({
      url: 'http://localhost:5173/',
      devOrigin: 'http://localhost:5173',
    });
  });

  it('serves app://console files from the built folder only, never a path that leaves it', () => {
    const dir = '/opt/pilothouse/out/renderer';
    expect(consoleFile('app://console/', dir)).toEqual({ path: join(dir, 'index.html'), mime: 'text/html; charset=utf-8' });
    expect(consoleFile('app://console/assets/index-1a2b.js?v=1#x', dir)).toEqual({
      path: join(dir, 'assets', 'index-1a2b.js'),
      mime: 'text/javascript; charset=utf-8',
    });
    // The URL parser folds ../ and %2e%2e/ away (the result stays inside); encoded ones must not get past the decode.
    for (const url of [
      'app://console/../../../etc/passwd.html',
      'app://console/%2e%2e/%2e%2e/etc/shadow.js',
      'app://console//etc/hosts.css',
    ]) {
      expect(consoleFile(url, dir)?.path.startsWith(`${dir}/`), url).toBe(true);
    }
    for (const url of [
      'app://console/assets/..%2f..%2f..%2fsecrets.json',
      'app://console/..%5c..%5cwin.ini',
      'app://console/%00.html',
      'app://other/index.html',
      'app://user@console/index.html',
      'file:///opt/pilothouse/out/renderer/index.html',
      'app://console/preload.node',
      'not a url',
    ]) {
      expect(consoleFile(url, dir), url).toBeNull();
    }
  });

  it('trusts the app://console origin as the console, whatever the path, and nothing beside it', () => {
    const console = `${CONSOLE_ORIGIN}/index.html`;
    expect(isTrustedConsoleUrl('app://console/index.html#/audit', console)).toBe(true);
    expect(isTrustedConsoleUrl('app://evil/index.html', console)).toBe(false);
    expect(isTrustedConsoleUrl('app://x@console/index.html', console)).toBe(false);
    expect(isTrustedConsoleUrl('file:///opt/pilothouse/out/renderer/index.html', console)).toBe(false);
    expect(isTrustedConsoleUrl('http://console/', console)).toBe(false);
  });

  it('opens in the system browser only http(s) links to allow-listed origins', () => {
    const allowed = ['https://github.com', 'http://127.0.0.1:7420'];
    expect(allowedExternalUrl('https://github.com/pilothouse/issues', allowed)).toBe('https://github.com/pilothouse/issues');
    expect(allowedExternalUrl('http://127.0.0.1:7420/api/docs', allowed)).toBe('http://127.0.0.1:7420/api/docs');
    for (const url of [
      'file:///etc/passwd',
      'smb://attacker/share',
      'ms-msdt:/id PCWDiagnostic',
      'javascript:alert(1)',
      'https://github.com.evil.example/',
      'https://evil.example/?https://github.com',
      'https://user@github.com/',
      'http://github.com/',
      'http://127.0.0.1:7421/',
    ]) {
      expect(allowedExternalUrl(url, allowed), url).toBeNull();
    }
  });

  it('packages with the fuses that stop a shipped app running as Node, taking code from NODE_OPTIONS or a debugger, or loading outside its asar', () => {
    const config = readFileSync(resolve(import.meta.dirname, '../../electron-builder.yml'), 'utf8');
    const block = /^electronFuses:\n((?:[ \t]+.*\n?)+)/m.exec(config)?.[1] ?? '';
    const fuses = Object.fromEntries(
      [...block.matchAll(/^[ \t]+(\w+):[ \t]*(true|false)[ \t]*$/gm)].map((m) => [m[1] as string, m[2] === 'true']),
    );
    expect(fuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    expect(config).toMatch(/^asar: true$/m);
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
