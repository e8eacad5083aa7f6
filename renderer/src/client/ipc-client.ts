import type { EventMessage } from '../../../contract/events';
import type { OperationInput, OperationName, OperationResult } from '../../../contract/operations';
import type { PilothouseBridge } from '../../../preload/api';
import { ClientError, type Client, type ConnectionState } from './client';

declare global {
  interface Window {
    pilothouse?: PilothouseBridge;
  }
}

export class IpcClient implements Client {
  readonly transport = 'ipc';

  constructor(private readonly bridge: PilothouseBridge) {}

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult<N>> {
    const reply = await this.bridge.call(name, input);
    if (!reply.ok) throw new ClientError(reply.error.code, reply.error.message, reply.error.field);
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
