import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FleetSeal } from '../fleet';

/** Where a node keeps the replicas other nodes send it (contract/endpoints.ts). */
export const PEER_FILES_PATH = '/api/v2/backup/peer/files';

const REQUEST = 'backup.peer';
const REPLY = 'backup.peer.reply';

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
export const EMPTY_SHA256 = sha256Hex(Buffer.alloc(0));

/** The signature headers of a request: who sends it, when, its MAC, and the SHA-256 of its body. */
export interface PeerSignature {
  readonly node: string;
  readonly at: number;
  readonly mac: string;
  readonly sha256: string;
}

/**
 * What a request's MAC covers: the node it is meant for, the method, the path with its query, and
 * the body's hash. A request captured on the way to one node cannot be sent to another, nor turned
 * into another request, and the fleet seal's age limit keeps it from being replayed later. `to` is
 * empty only for the listing a sender makes before it knows the peer's id (read-only).
 */
const subject = (to: string, method: string, url: string): string => `${to} ${method.toUpperCase()} ${url}`;

export function signRequest(seal: FleetSeal, to: string, method: string, url: string, sha256: string): PeerSignature {
  const at = seal.now();
  return { node: seal.nodeId, at, mac: seal.mac(REQUEST, subject(to, method, url), seal.nodeId, at, [sha256]), sha256 };
}

export function signatureHeaders(sig: PeerSignature): Record<string, string> {
  return { 'x-peer-node': sig.node, 'x-peer-at': String(sig.at), 'x-peer-mac': sig.mac, 'x-peer-sha256': sig.sha256 };
}

const one = (v: string | string[] | undefined): string | null => (typeof v === 'string' ? v : null);

/** The signature a request carries, or null when a header is missing or malformed. */
export function requestSignature(headers: IncomingHttpHeaders): PeerSignature | null {
  const node = one(headers['x-peer-node']);
  const at = one(headers['x-peer-at']);
  const mac = one(headers['x-peer-mac']);
  const sha256 = one(headers['x-peer-sha256']);
  if (node === null || at === null || mac === null || sha256 === null) return null;
  if (!/^\d{1,15}$/.test(at) || !/^[0-9a-f]{64}$/.test(sha256)) return null;
  return { node, at: Number(at), mac, sha256 };
}

/** The MAC is the fleet's, recent, and for this node (or, for the listing only, for any). */
export function checkRequest(seal: FleetSeal, sig: PeerSignature, method: string, url: string, anyNode: boolean): boolean {
  const ok = (to: string) => seal.verify(REQUEST, subject(to, method, url), sig.node, sig.at, sig.mac, [sig.sha256], true);
  return ok(seal.nodeId) || (anyNode && ok(''));
}

/** The reply's signature header: this node, now, over the request's MAC, the status and the body's hash. */
export function signReply(seal: FleetSeal, requestMac: string, status: number, sha256: string): string {
  const at = seal.now();
  return `${seal.nodeId}|${at}|${seal.mac(REPLY, requestMac, seal.nodeId, at, [String(status), sha256])}`;
}

/** The node that signed a reply to the request `requestMac`, or null when it is not signed right (or by another node than `expected`). */
export function checkReply(
  seal: FleetSeal,
  requestMac: string,
  status: number,
  sha256: string,
  header: string | string[] | undefined,
  expected: string | null,
): string | null {
  const parts = one(header)?.split('|') ?? [];
  if (parts.length !== 3) return null;
  const [node, atText, mac] = parts as [string, string, string];
  if (!/^\d{1,15}$/.test(atText) || (expected !== null && node !== expected)) return null;
  return seal.verify(REPLY, requestMac, node, Number(atText), mac, [String(status), sha256], true) ? node : null;
}
