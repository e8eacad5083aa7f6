import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { PhError } from '../../contract/errors';
import type { UpgradeSource, WebSocketEndpoint } from './http-server';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Upgrades under `prefix` are refused with `error` (the gateway's `/gw/`, which proxies plain HTTP only). */
export interface UpgradeRefusal {
  readonly prefix: string;
  readonly error: PhError;
}

/**
 * Several WebSocket endpoints on the one port, each on its path (`/ws` the hub, `/graphql` GraphQL
 * subscriptions): an upgrade reaches the endpoint of its path; one under a refused prefix gets that
 * refusal, and any other path a 404, each with a coded error body as every other answer has.
 */
export function upgradesByPath(
  endpoints: Readonly<Record<string, WebSocketEndpoint>>,
  refusals: readonly UpgradeRefusal[] = [],
): WebSocketEndpoint {
  return {
    attach(server: UpgradeSource): void {
      const listeners = new Map<string, UpgradeListener[]>();
      for (const [path, endpoint] of Object.entries(endpoints))
        endpoint.attach({ on: (_event, listener) => listeners.set(path, [...(listeners.get(path) ?? []), listener]) });
      server.on('upgrade', (req, socket, head) => {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const forPath = listeners.get(path);
        if (forPath === undefined) {
          const error =
            refusals.find((r) => path.startsWith(r.prefix))?.error ??
            new PhError('PH_NOT_FOUND', 'There is no WebSocket endpoint at this path');
          const body = JSON.stringify(error.toBody());
          socket.end(
            `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\nConnection: close\r\n` +
              `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
          return;
        }
        for (const listener of forPath) listener(req, socket, head);
      });
    },
    close(): void {
      for (const endpoint of Object.values(endpoints)) endpoint.close();
    },
  };
}
