import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pickBackupRootChannel, type IpcReply } from '../../contract/ipc';
import { PickedRoots, PICKED_ROOTS_FILE } from '../../main/backup';
import { BackupPathPolicy } from '../../main/backup/path-policy';
import type { AuditRecord } from '../../main/core';
import { registerBackupRootPicker } from '../../main/desktop/backup-root-picker';
import { tempDir } from '../helpers/temp-dir';

type Handler = (event: { senderFrame: { url: string } | null }, input: unknown) => Promise<unknown>;
const CONSOLE = 'app://console/index.html';

// The desktop user's folder dialog is the only way a folder outside `backup.roots` becomes one: these
// pin that it works from the console's frame, is refused from any other, and is audited.
describe('backup roots picked in the desktop console', () => {
  const dirs: { remove: () => void }[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.remove();
  });

  function setup(chosen: string | null) {
    const data = tempDir();
    const outside = tempDir();
    dirs.push(data, outside);
    const handlers = new Map<string, Handler>();
    const audit: AuditRecord[] = [];
    const picked = new PickedRoots(data.path);
    const policy = new BackupPathPolicy([data.path], () => picked.folders);
    registerBackupRootPicker({
      ipcMain: { handle: (channel, h) => void handlers.set(channel, h), removeHandler: (channel) => void handlers.delete(channel) },
      isTrustedSender: (url) => url === CONSOLE,
      chooseFolder: () => Promise.resolve(chosen === null ? null : chosen === '' ? outside.path : chosen),
      addRoot: (path) => picked.add(path),
      audit: (record) => void audit.push(record),
    });
    const pick = (url: string) =>
      (handlers.get(pickBackupRootChannel) as Handler)({ senderFrame: { url } }, undefined) as Promise<IpcReply<{ path: string } | null>>;
    const database = join(outside.path, 'app.db');
    writeFileSync(database, 'SQLite format 3\0');
    return { data, outside, picked, policy, pick, audit, database };
  }

  it('makes a folder the desktop user picked a backup root, keeps it in a 0600 file, and audits it', async () => {
    const { data, outside, policy, pick, audit, database } = setup('');
    expect(() => policy.source(database)).toThrow('backup root');
    const reply = await pick(CONSOLE);
    expect(reply).toEqual({ ok: true, result: { path: outside.path } });
    expect(policy.source(database)).toBe(database);
    expect(statSync(join(data.path, PICKED_ROOTS_FILE)).mode & 0o777).toBe(0o600);
    expect(new PickedRoots(data.path).folders).toEqual([outside.path]);
    expect(audit).toEqual([{ actor: 'desktop', action: 'backup.roots.pick', target: outside.path, outcome: 'ok' }]);
  });

  it('refuses a frame that is not the console, adding nothing', async () => {
    const { policy, pick, audit, database, picked } = setup('');
    const reply = await pick('https://evil.example/');
    expect(reply).toMatchObject({ ok: false, error: { code: 'PH_FORBIDDEN' } });
    expect(picked.folders).toEqual([]);
    expect(() => policy.source(database)).toThrow('backup root');
    expect(audit).toEqual([]);
  });

  it('adds nothing when the dialog is cancelled', async () => {
    const { pick, picked } = setup(null);
    expect(await pick(CONSOLE)).toEqual({ ok: true, result: null });
    expect(picked.folders).toEqual([]);
  });

  it('refuses a file picked as a folder with a coded error, and audits the refusal', async () => {
    const data = tempDir();
    dirs.push(data);
    mkdirSync(join(data.path, 'sub'));
    const file = join(data.path, 'sub', 'not-a-folder');
    writeFileSync(file, 'x');
    const { pick, picked, audit } = setup(file);
    expect(await pick(CONSOLE)).toMatchObject({ ok: false, error: { code: 'PH_BACKUP_PATH_REFUSED' } });
    expect(picked.folders).toEqual([]);
    expect(audit[0]).toMatchObject({ action: 'backup.roots.pick', outcome: 'error' });
  });

  it('stops the start with a coded error naming the list when the file is damaged (a database written over it), not a JSON parser message', () => {
    const data = tempDir();
    dirs.push(data);
    writeFileSync(join(data.path, PICKED_ROOTS_FILE), 'SQLite format 3\0', { mode: 0o600 });
    expect(() => new PickedRoots(data.path)).toThrow(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID', message: expect.stringContaining(PICKED_ROOTS_FILE) }),
    );
  });
});
