import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { serverEndpoint } from '../../contract/endpoints';
import { PhError } from '../../contract/errors';
import type { AuditTrail, Caller } from '../core';
import type { FleetSeal } from '../fleet';
import type { PeerInbox } from './peer-inbox';
import { checkRequest, EMPTY_SHA256, PEER_FILES_PATH, requestSignature, sha256Hex, signReply, type PeerSignature } from './peer-protocol';

export interface PeerRoutesDeps {
  readonly inbox: PeerInbox;
  /** The fleet seal (from `fleetSecret`); without one this node takes no peer replicas. */
  readonly seal: FleetSeal | null;
  /** This node's audit trail: every file a sender stores or removes here is recorded, as any other change. */
  readonly audit: AuditTrail | null;
}

/** Largest range a sender may read in one request (verification reads one page blob at a time). */
const MAX_RANGE_BYTES = 128 * 1024 * 1024;

/**
 * The receiving side of peer replicas (`/api/v2/backup/peer/files[/<name>]`). The server has already
 * admitted an admin key of this node (route access); here the request must also carry a recent
 * fleet signature for this node, its method, path and body hash, from a sender on the allow-list.
 * Each answer is signed back, so the sender knows it reached this node and read what it sent.
 * A file stored or removed (or a store that failed once the sender was admitted) is audited here,
 * as the key that made the request, naming the sending node, the file and its bytes: the sender's
 * own audit row is in its trail, and this node's disk changed too.
 */
export function peerReplicaRoutes(deps: PeerRoutesDeps) {
  return async function peerRoutes(app: FastifyInstance): Promise<void> {
    // The body streams to disk as it comes: a pack is never held in memory.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

    /** The signed, allowed sender of a request, or a refusal (before any byte of a body is read). */
    const sender = (request: FastifyRequest, listing: boolean): PeerSignature => {
      const seal = deps.seal;
      if (seal === null) throw new PhError('PH_BACKUP_PEER_REFUSED', 'This node has no fleet secret, so it keeps no peer replicas');
      const sig = requestSignature(request.headers);
      if (sig === null || !checkRequest(seal, sig, request.method, request.url, listing)) throw new PhError('PH_BACKUP_PEER_UNSIGNED');
      deps.inbox.admit(sig.node);
      return sig;
    };
    const audited = (request: FastifyRequest, action: string, sig: PeerSignature, name: string, detail: string, ok: boolean): void => {
      deps.audit?.append({
        actor: (request.caller as Caller | null)?.actor ?? 'unknown',
        action,
        target: `peer-replicas/${sig.node}/${name}`,
        outcome: ok ? 'ok' : 'error',
        detail: `from node ${sig.node}: ${detail}`,
      });
    };
    const signed = (reply: FastifyReply, sig: PeerSignature, sha256: string): FastifyReply =>
      reply.header('x-peer-reply', signReply(deps.seal as FleetSeal, sig.mac, 200, sha256));

    app.get(PEER_FILES_PATH, { config: { access: serverEndpoint(PEER_FILES_PATH).access } }, async (request, reply) => {
      const sig = sender(request, true);
      const body = Buffer.from(JSON.stringify({ files: Object.fromEntries(await deps.inbox.list(sig.node)) }));
      return signed(reply, sig, sha256Hex(body)).type('application/json').send(body);
    });

    const fileUrl = `${PEER_FILES_PATH}/*`;
    app.route({
      method: ['GET', 'PUT', 'DELETE'],
      url: fileUrl,
      config: { access: serverEndpoint(fileUrl).access },
      handler: async (request, reply) => {
        const sig = sender(request, false);
        const name = (request.params as { '*': string })['*'];
        if (request.method === 'PUT') {
          if (request.headers['content-type'] !== 'application/octet-stream' || !(request.body as Readable | undefined)?.readable)
            throw new PhError('PH_INVALID_INPUT', 'A peer replica file is sent as application/octet-stream');
          const length = Number(request.headers['content-length'] ?? Number.NaN);
          let bytes: number;
          try {
            bytes = await deps.inbox.write(sig.node, name, request.body as Readable, sig.sha256, length);
          } catch (err) {
            audited(request, 'backup.peer.receive', sig, name, `refused (${err instanceof PhError ? err.code : 'PH_INTERNAL'})`, false);
            throw err;
          }
          audited(request, 'backup.peer.receive', sig, name, `${bytes} bytes received`, true);
          const body = Buffer.from(JSON.stringify({ bytes }));
          return signed(reply, sig, sha256Hex(body)).type('application/json').send(body);
        }
        if (sig.sha256 !== EMPTY_SHA256) throw new PhError('PH_BACKUP_PEER_UNSIGNED', 'A GET or DELETE has no body');
        if (request.method === 'DELETE') {
          await deps.inbox.remove(sig.node, name);
          audited(request, 'backup.peer.remove', sig, name, 'removed', true);
          return signed(reply, sig, EMPTY_SHA256).code(200).send();
        }
        const found = await deps.inbox.size(sig.node, name);
        if (found === null) throw new PhError('PH_NOT_FOUND', 'This node keeps no such file for the sender');
        const query = request.query as { offset?: string; length?: string };
        if (query.offset !== undefined || query.length !== undefined) {
          const offset = Number(query.offset ?? 0);
          const length = Number(query.length ?? 0);
          if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > MAX_RANGE_BYTES)
            throw new PhError('PH_INVALID_INPUT', `offset and length are whole numbers, length at most ${MAX_RANGE_BYTES}`);
          const bytes = await deps.inbox.read(sig.node, name, offset, length);
          return signed(reply, sig, sha256Hex(bytes)).type('application/octet-stream').send(bytes);
        }
        // The whole file: hashed, then sent from the same open file (a file is replaced by rename, never rewritten).
        const fh = await open(found.path, 'r');
        try {
          const hash = createHash('sha256');
          for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
          const size = (await fh.stat()).size;
          signed(reply, sig, hash.digest('hex')).type('application/octet-stream').header('content-length', size);
          return reply.send(fh.createReadStream({ start: 0 }));
        } catch (err) {
          await fh.close();
          throw err;
        }
      },
    });
  };
}
