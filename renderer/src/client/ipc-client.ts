import type { EventMessage } from '../../../contract/events';
import type { OperationInput, OperationName, OperationResult } from '../../../contract/operations';
import type { PilothouseBridge } from '../../../preload/api';
import { ClientError, type Client, type ConnectionState } from './client';
import { REQUEST_TIMEOUT_MS } from './http-call';

declare global {
  interface Window {
    pilothouse?: PilothouseBridge;
  }
}

export class IpcClient implements Client {
  readonly transport = 'ipc';

  constructor(private readonly bridge: PilothouseBridge) {}

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult<N>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await Promise.race([
      this.bridge.call(name, input),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ClientError('PH_CONSOLE_TIMEOUT', `No answer to ${name} within ${REQUEST_TIMEOUT_MS / 1000} s`)),
          REQUEST_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (!reply.ok) throw new ClientError(reply.error.code, reply.error.message, reply.error.field, reply.error.details);
    return reply.result as OperationResult<N>;
  }

  onEvent(listener: (message: EventMessage) => void): () => void {
    return this.bridge.onEvent(listener);
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    listener('open');
    return () => undefined;
  }

  close(): void {}
}
