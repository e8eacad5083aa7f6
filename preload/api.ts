import type { EventMessage } from '../contract/events';
import type { IpcReply } from '../contract/ipc';
import type { OperationName } from '../contract/operations';

/** What the preload exposes to the console as `window.pilothouse`, and nothing else. */
export interface PilothouseBridge {
  call(name: OperationName, input: unknown): Promise<IpcReply<unknown>>;
  /** Receives event messages only, never the raw IPC event. Returns an unsubscribe function. */
  onEvent(listener: (message: EventMessage) => void): () => void;
  /** Desktop only: the system folder dialog; the chosen folder becomes a backup root on this node (null: cancelled). */
  pickBackupRoot(): Promise<IpcReply<{ path: string } | null>>;
}
