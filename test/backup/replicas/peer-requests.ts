import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { FleetSeal } from '../../../main/fleet';
import { TEST_FLEET_SECRET } from '../../helpers/fleet-secret';

export interface PeerRequest {
  readonly url: string;
  readonly method: 'GET' | 'PUT' | 'DELETE';
  /** Sent as it is (no URL normalisation: `..` reaches the server as written). */
  readonly name: string;
  readonly body?: Buffer;
  /** The receiving node's key (null: none). */
  readonly admin: string | null;
  /** The node the signature is for. */
  readonly to: string;
  /** The sender node id the headers name (default node-a). */
  readonly from?: string;
  readonly secret?: string;
  /** The signature's time (default now). */
  readonly at?: number;
  readonly unsigned?: boolean;
  /** Send other bytes than the ones signed. */
  readonly tamper?: boolean;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A request to a node's peer-replica endpoint made by hand, signed as the protocol says
 * (main/backup/peer-protocol.ts) or wrongly on purpose: what an attacker on the LAN could send.
 */
export async function peerRequest(r: PeerRequest): Promise<{ status: number; code: string | null; body: Buffer }> {
  const body = r.body ?? Buffer.alloc(0);
  const path = `/api/v2/backup/peer/files/${r.name}`;
  const from = r.from ?? 'node-a';
  const at = r.at ?? Date.now();
  // A seal can only be made for a valid node id; a header naming another is written by hand below.
  const seal = new FleetSeal({ secret: r.secret ?? TEST_FLEET_SECRET, nodeId: 'node-a', clock: { now: () => at } });
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(body.length) };
  if (r.admin !== null) headers.authorization = `Bearer ${r.admin}`;
  if (r.unsigned !== true) {
    const mac = seal.mac('backup.peer', `${r.to} ${r.method} ${path}`, from, at, [sha(body)]);
    Object.assign(headers, { 'x-peer-node': from, 'x-peer-at': String(at), 'x-peer-mac': mac, 'x-peer-sha256': sha(body) });
  }
  const sent = r.tamper === true ? Buffer.from(body.map((x) => x ^ 1)) : body;
  const { host, port } = new URL(r.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: host.replace(/:\d+$/, ''), port, method: r.method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks);
        let code: string | null = null;
        try {
          code = (JSON.parse(text.toString('utf8')) as { error?: { code?: string } }).error?.code ?? null;
        } catch {
          code = null;
        }
        resolve({ status: res.statusCode ?? 0, code, body: text });
      });
    });
    // The server may answer and close before it reads a refused body.
    req.on('error', reject);
    req.end(sent);
  });
}
