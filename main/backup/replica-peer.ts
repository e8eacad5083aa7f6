import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PhError } from '../../contract/errors';
import type { FleetSeal } from '../fleet';
import { checkReply, EMPTY_SHA256, PEER_FILES_PATH, signatureHeaders, signRequest, sha256Hex } from './peer-protocol';
import { checkName, isReplicaName, type ReplicaTransport } from './replica-transport';

export interface PeerTarget {
  /** The address the outbound-reach check approved, and its port. */
  readonly address: string;
  readonly port: number;
  /** https: the name the certificate is checked against (or its pinned fingerprint instead). */
  readonly tls: { readonly servername: string; readonly certSha256: string | null } | null;
  /** The host header: the name the operator gave (the peer's Host allow-list knows it). */
  readonly hostHeader: string;
  /** The peer's node id; null until its first signed answer names it (then pinned). */
  readonly node: string | null;
  readonly apiKey: string;
  readonly seal: FleetSeal;
}

/** A pause this long with no byte either way fails the request (the peer died or the network went). */
const IDLE_MS = 30_000;
/** A listing or a range is read into memory; nothing a peer sends beyond this is. */
const MAX_BUFFERED = 160 * 1024 * 1024;

interface Body {
  readonly sha256: string;
  readonly length: number;
  readonly open: () => Readable | Buffer;
}

/**
 * Another Pilothouse node of the fleet, over its API (peer-routes.ts): each request carries an admin
 * key of that node and the fleet signature; each answer must come back signed by the peer's node id
 * (so a stranger at its address is never trusted with a listing or a read). Over https the
 * certificate is checked, or pinned by fingerprint before any byte (the key included) is sent.
 */
export class PeerTransport implements ReplicaTransport {
  #node: string | null;

  constructor(private readonly target: PeerTarget) {
    this.#node = target.node;
  }

  /** The peer's node id, once an answer named it. */
  get node(): string | null {
    return this.#node;
  }

  async list(): Promise<Map<string, number>> {
    const res = await this.#send('GET', PEER_FILES_PATH, null);
    const files = (JSON.parse(res.body.toString('utf8')) as { files: Record<string, number> }).files;
    const out = new Map<string, number>();
    for (const [name, size] of Object.entries(files)) if (isReplicaName(name) && Number.isSafeInteger(size)) out.set(name, size);
    return out;
  }

  async put(name: string, localPath: string): Promise<number> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(localPath)) hash.update(chunk as Buffer);
    const { size } = await stat(localPath);
    await this.#send('PUT', this.#path(name), { sha256: hash.digest('hex'), length: size, open: () => createReadStream(localPath) });
    return size;
  }

  async putBytes(name: string, bytes: Buffer): Promise<void> {
    await this.#send('PUT', this.#path(name), { sha256: sha256Hex(bytes), length: bytes.length, open: () => bytes });
  }

  async read(name: string, offset: number, length: number): Promise<Buffer> {
    return (await this.#send('GET', `${this.#path(name)}?offset=${offset}&length=${length}`, null)).body;
  }

  async getBytes(name: string): Promise<Buffer | null> {
    const res = await this.#send('GET', this.#path(name), null, true);
    return res.status === 404 ? null : res.body;
  }

  async get(name: string, localPath: string): Promise<void> {
    try {
      await this.#send('GET', this.#path(name), null, false, localPath);
    } catch (err) {
      await rm(localPath, { force: true });
      throw err;
    }
  }

  async remove(name: string): Promise<void> {
    await this.#send('DELETE', this.#path(name), null);
  }

  async close(): Promise<void> {}

  #path(name: string): string {
    return `${PEER_FILES_PATH}/${checkName(name)}`;
  }

  /** One signed request; the answer's signature is checked before its bytes are used (written to `toFile`, or returned). */
  async #send(
    method: string,
    url: string,
    body: Body | null,
    missingIsNull = false,
    toFile?: string,
  ): Promise<{ status: number; body: Buffer }> {
    const t = this.target;
    const sig = signRequest(t.seal, this.#node ?? '', method, url, body?.sha256 ?? EMPTY_SHA256);
    const headers: Record<string, string> = {
      host: t.hostHeader,
      authorization: `Bearer ${t.apiKey}`,
      ...signatureHeaders(sig),
      ...(body === null ? {} : { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }),
    };
    const options: RequestOptions = { method, path: url, headers, host: t.address, port: t.port, agent: false, timeout: IDLE_MS };
    const res = await this.#request(options, body);
    const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
    if (!ok) {
      const text = (await collect(res, 64 * 1024)).toString('utf8');
      if (res.statusCode === 404 && missingIsNull) return { status: 404, body: Buffer.alloc(0) };
      let error: { code?: string; message?: string } = {};
      try {
        error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
      } catch {
        error = { message: text.slice(0, 200) };
      }
      const refused = res.statusCode === 401 || res.statusCode === 403;
      throw new PhError(
        refused ? 'PH_BACKUP_REPLICA_REFUSED' : 'PH_BACKUP_REPLICA_UNREACHABLE',
        `The peer answered ${res.statusCode} ${error.code ?? ''}: ${error.message ?? ''}`.trim(),
      );
    }
    let bytes: Buffer;
    let sha256: string;
    if (toFile === undefined) {
      bytes = await collect(res, MAX_BUFFERED);
      sha256 = sha256Hex(bytes);
    } else {
      const hash = createHash('sha256');
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(res, createWriteStream(toFile, { mode: 0o600 }));
      bytes = Buffer.alloc(0);
      sha256 = hash.digest('hex');
    }
    const node = checkReply(t.seal, sig.mac, 200, sha256, res.headers['x-peer-reply'], this.#node);
    if (node === null)
      throw new PhError(
        'PH_BACKUP_REPLICA_REFUSED',
        `The answer at ${t.hostHeader} is not signed by ${this.#node === null ? 'a node' : `node ${this.#node}`} of this fleet`,
      );
    this.#node = node;
    return { status: res.statusCode as number, body: bytes };
  }

  async #request(options: RequestOptions, body: Body | null): Promise<IncomingMessage> {
    const tls = this.target.tls;
    const socket = tls?.certSha256 != null ? await this.#pinned(tls.servername, tls.certSha256) : null;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req =
        tls === null
          ? httpRequest(options)
          : socket !== null
            ? httpRequest({ ...options, createConnection: () => socket })
            : httpsRequest({ ...options, servername: tls.servername });
      req.on('response', resolve);
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`no answer from the peer within ${IDLE_MS} ms`)));
      if (body === null) req.end();
      else {
        const source = body.open();
        if (Buffer.isBuffer(source)) req.end(source);
        else pipeline(source, req).catch((err: unknown) => req.destroy(err as Error));
      }
    });
  }

  /** A TLS connection whose certificate has the pinned fingerprint, checked before the request (and its key) is written. */
  #pinned(servername: string, certSha256: string): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: this.target.address, port: this.target.port, servername, rejectUnauthorized: false });
      socket.setTimeout(IDLE_MS, () => socket.destroy(new Error('the peer did not finish the TLS handshake')));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        if (socket.getPeerCertificate().fingerprint256?.toUpperCase() !== certSha256.toUpperCase()) {
          socket.destroy();
          reject(new PhError('PH_BACKUP_REPLICA_REFUSED', "The peer's certificate is not the pinned one (certSha256)"));
          return;
        }
        socket.setTimeout(0);
        resolve(socket);
      });
    });
  }
}

async function collect(res: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > max) {
      res.destroy();
      throw new PhError('PH_BACKUP_REPLICA_UNREACHABLE', `The peer's answer is larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
