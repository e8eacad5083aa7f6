import { toErrorBody } from '../../contract/errors';
import type { EventMessage } from '../../contract/events';
import { eventChannel, operationChannel, type IpcReply } from '../../contract/ipc';
import { operationNames } from '../../contract/operations';
import { desktopCaller } from '../core';
import type { OperationDispatcher } from '../ops';

/** The part of Electron's ipcMain this needs; kept narrow so the wiring is reached by tests in plain Node. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: { senderFrame: { url: string } | null }, input: unknown) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Where the console's events come from: the real-time hub in the app (the event bus in tests). */
export interface ConsoleEventSource {
  subscribe(listener: (message: EventMessage) => void): () => void;
}

export interface WebContentsLike {
  send(channel: string, message: EventMessage): void;
  isDestroyed(): boolean;
}

/**
 * One allow-listed IPC channel per operation. Every call checks that the sending frame is our
 * console before it reaches the dispatcher, and replies with a value (never a thrown Electron
 * error, which would lose the code). Events go to the window as `{ event, payload }` only.
 */
export function registerIpcBridge(options: {
  ipcMain: IpcMainLike;
  dispatcher: OperationDispatcher;
  events: ConsoleEventSource;
  isTrustedSender: (url: string) => boolean;
  target: () => WebContentsLike | null;
}): () => void {
  const { ipcMain, dispatcher, events, isTrustedSender, target } = options;
  for (const name of operationNames) {
    ipcMain.handle(operationChannel(name), async (event, input): Promise<IpcReply<unknown>> => {
      const url = event.senderFrame?.url;
      if (url === undefined || !isTrustedSender(url)) {
        return { ok: false, error: { code: 'PH_FORBIDDEN', message: 'IPC from an untrusted frame' } };
      }
      try {
        return { ok: true, result: await dispatcher.call(name, input, desktopCaller) };
      } catch (err) {
        return { ok: false, error: toErrorBody(err).error };
      }
    });
  }
  const unsubscribe = events.subscribe((message) => {
    const contents = target();
    if (contents !== null && !contents.isDestroyed()) contents.send(eventChannel, message);
  });
  return () => {
    unsubscribe();
    for (const name of operationNames) ipcMain.removeHandler(operationChannel(name));
  };
}
