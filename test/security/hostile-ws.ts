import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { until } from '../helpers/until';

/**
 * A WebSocket client written on a bare TCP socket that ignores the server's close frame and keeps
 * sending: what an attacker holding a revoked credential would do, and what the `ws` package (which
 * stops sending once closed) cannot imitate.
 */
export class HostileWs {
  received = Buffer.alloc(0);
  readonly ended: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
    socket.on('error', () => undefined);
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(url: string, token: string): Promise<HostileWs> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    const client = new HostileWs(socket);
    socket.write(
      [
        'GET /ws HTTP/1.1',
        `Host: ${hostname}:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `Authorization: Bearer ${token}`,
        '',
        '',
      ].join('\r\n'),
    );
    await until(() => client.text().includes('"type":"welcome"'), 5000, 'the welcome frame');
    return client;
  }

  text(): string {
    return this.received.toString('latin1');
  }

  /** The close code the server sent, or null while it has sent none. */
  closeCode(): number | null {
    const at = this.received.indexOf(Buffer.from([0x88]));
    if (at < 0 || this.received.length < at + 4) return null;
    return this.received.readUInt16BE(at + 2);
  }

  sendText(value: unknown): void {
    this.socket.write(frame(0x1, Buffer.from(JSON.stringify(value))));
  }

  /** Answers the close handshake at last, so the server drops the connection. */
  sendClose(): void {
    this.socket.write(frame(0x8, Buffer.from([0x03, 0xe8])));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A masked client frame (RFC 6455 §5.2) with a payload under 64 KiB. */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length =
    payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, mask, masked]);
}
