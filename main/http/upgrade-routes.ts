import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpgradeSource, WebSocketEndpoint } from './http-server';

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Several WebSocket endpoints on the one port, each on its path (`/ws` the hub, `/graphql` GraphQL
 * subscriptions): an upgrade reaches the endpoint of its path, and any other path gets a 404.
 */
export function upgradesByPath(endpoints: Readonly<Record<string, WebSocketEndpoint>>): WebSocketEndpoint {
  return {
    attach(server: UpgradeSource): void {
      const listeners = new Map<string, UpgradeListener[]>();
      for (const [path, endpoint] of Object.entries(endpoints))
        endpoint.attach({ on: (_event, listener) => listeners.set(path, [...(listeners.get(path) ?? []), listener]) });
      server.on('upgrade', (req, socket, head) => {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const forPath = listeners.get(path);
        if (forPath === undefined) {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
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
