import type { OperationName } from './operations';

/** One IPC channel per operation, so the main process can allow-list them one by one. */
export const operationChannel = (name: OperationName): `ph:op:${OperationName}` => `ph:op:${name}`;
export const eventChannel = 'ph:event';

/** What an IPC handler returns: errors travel as values because Electron strips error fields. */
export type IpcReply<T> =
  { ok: true; result: T } | { ok: false; error: { code: string; message: string; field?: string; details?: unknown } };

/**
 * Desktop only, not an operation: the folder dialog through which the person at this machine adds a
 * backup root. No key can reach it over the network; the main process answers only the console's frame.
 */
export const pickBackupRootChannel = 'ph:desktop:pick-backup-root';
