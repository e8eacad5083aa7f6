import type { IpcReply } from '../../contract/ipc';
import { pickBackupRootChannel } from '../../contract/ipc';
import { toErrorBody } from '../../contract/errors';
import type { AuditRecord } from '../core';
import { desktopCaller } from '../core';
import type { IpcMainLike } from './ipc-bridge';

/**
 * The console's "Allow a folder…" on the desktop: shows the system folder dialog and adds the chosen
 * folder to this node's backup roots, with an audit row. Backup roots otherwise come only from the
 * admin's configuration, so a folder outside them is reachable only because the person at the
 * machine picked it here (never by a key, which has no channel to this).
 */
export function registerBackupRootPicker(options: {
  ipcMain: IpcMainLike;
  isTrustedSender: (url: string) => boolean;
  /** The system's folder dialog; null when it was cancelled. */
  chooseFolder: () => Promise<string | null>;
  /** Adds the folder to the picked roots and returns its real path (PickedRoots.add). */
  addRoot: (path: string) => string;
  audit: (record: AuditRecord) => void;
}): () => void {
  const { ipcMain, isTrustedSender, chooseFolder, addRoot, audit } = options;
  ipcMain.handle(pickBackupRootChannel, async (event): Promise<IpcReply<{ path: string } | null>> => {
    const url = event.senderFrame?.url;
    if (url === undefined || !isTrustedSender(url))
      return { ok: false, error: { code: 'PH_FORBIDDEN', message: 'IPC from an untrusted frame' } };
    const chosen = await chooseFolder();
    if (chosen === null) return { ok: true, result: null };
    try {
      const path = addRoot(chosen);
      audit({ actor: desktopCaller.actor, action: 'backup.roots.pick', target: path, outcome: 'ok' });
      return { ok: true, result: { path } };
    } catch (err) {
      audit({ actor: desktopCaller.actor, action: 'backup.roots.pick', target: chosen, outcome: 'error' });
      return { ok: false, error: toErrorBody(err).error };
    }
  });
  return () => ipcMain.removeHandler(pickBackupRootChannel);
}
