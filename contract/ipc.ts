import type { OperationName } from './operations';

/** One IPC channel per operation, so the main process can allow-list them one by one. */
export const operationChannel = (name: OperationName): `ph:op:${OperationName}` => `ph:op:${name}`;
export const eventChannel = 'ph:event';

/** What an IPC handler returns: errors travel as values because Electron strips error fields. */
export type IpcReply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string; field?: string } };
