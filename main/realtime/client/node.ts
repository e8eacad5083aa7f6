import { isIP, type NetConnectOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import WebSocket from 'ws';
import type { WebSocketFactory } from './realtime-client';

/**
 * The hub client's Node entry: everything of `./index`, plus certificate pinning, which needs
 * Node's TLS and so cannot live in the browser-safe files.
 */
export * from './index';

/** `ab:cd:…`, `ABCD…` or `sha256/AB:CD…` → `AB:CD:…`, the form Node and browsers show. */
export function normalizeFingerprint(text: string): string {
  const hex = text
    .replace(/^sha-?256[/:=]?/i, '')
    .replace(/[^0-9a-f]/gi, '')
    .toUpperCase();
  if (hex.length !== 64) throw new Error('A SHA-256 fingerprint has 64 hex digits');
  return hex.match(/../g)!.join(':');
}

/**
 * A WebSocket class for `RealtimeClient` in Node that trusts exactly one certificate, named by its
 * SHA-256 fingerprint (shown in the node's log, console and `system.status`). It is how a LAN
 * program talks to a node with a self-signed certificate without turning verification off: the
 * chain is not checked, the pin is, as soon as the TLS handshake ends. A mismatch destroys the
 * socket before the upgrade completes, and the client sends its token only after the upgrade (in
 * the first `auth` frame), so a wrong server never sees it.
 *
 *   new RealtimeClient({ url: 'wss://10.0.0.5:7420/ws', token, WebSocket: pinnedWebSocket('AB:CD:…') })
 */
export function pinnedWebSocket(fingerprint256: string): WebSocketFactory {
  const expected = normalizeFingerprint(fingerprint256);
  const createConnection = (options: NetConnectOpts): ReturnType<typeof tlsConnect> => {
    const { path: _path, ...rest } = options as ConnectionOptions & { path?: string };
    const host = rest.host ?? 'localhost';
    const socket = tlsConnect({ ...rest, servername: isIP(host) === 0 ? host : undefined, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const actual = socket.getPeerCertificate().fingerprint256;
      if (actual !== expected) socket.destroy(new Error(`The server's certificate ${actual} is not the pinned ${expected}`));
    });
    return socket;
  };
  return class PinnedWebSocket extends WebSocket {
    constructor(url: string) {
      if (!url.startsWith('wss://')) throw new Error('A pinned connection needs a wss:// URL');
      super(url, { createConnection: createConnection as never });
    }
  } as unknown as WebSocketFactory;
}
