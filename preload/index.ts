import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { EventMessage } from '../contract/events';
import { eventChannel, operationChannel, pickBackupRootChannel, type IpcReply } from '../contract/ipc';
import { isOperationName } from '../contract/operations';
import type { PilothouseBridge } from './api';

const bridge = {
  call(name, input) {
    // Only declared operations have channels; anything else never reaches the main process.
    if (!isOperationName(name))
      return Promise.resolve({ ok: false, error: { code: 'PH_UNKNOWN_OPERATION', message: `No operation ${String(name)}` } });
    return ipcRenderer.invoke(operationChannel(name), input) as Promise<IpcReply<unknown>>;
  },
  onEvent(listener) {
    const forward = (_event: IpcRendererEvent, message: EventMessage): void => listener(message);
    ipcRenderer.on(eventChannel, forward);
    return () => {
      ipcRenderer.removeListener(eventChannel, forward);
    };
  },
  pickBackupRoot() {
    return ipcRenderer.invoke(pickBackupRootChannel) as Promise<IpcReply<{ path: string } | null>>;
  },
} satisfies PilothouseBridge;

contextBridge.exposeInMainWorld('pilothouse', bridge);
