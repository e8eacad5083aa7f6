import { randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import { PhError, isErrorCode, toErrorBody } from '../../contract/errors';
import { BackupCancelSchema } from '../../contract/ops/backup';
import { redisTrouble, type FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import { Subscriber } from '../redis';
import type { Service, ServiceState } from '../service';
import type { BackupCancel } from './snapshot-cancels';

const REQUEST = 'backup.cancel';
const REPLY = 'backup.cancel-reply';
const requestChannel = (node: string): string => `ph:backup:cancel:${node}`;
const replyChannel = (node: string): string => `ph:backup:cancel-reply:${node}`;
/** How long the asking node waits for the owner's answer. */
const ANSWER_WITHIN_MS = 5_000;
/** Request ids seen lately: longer than the seal's 30 s freshness window, so a replay inside it is caught. */
const REMEMBER_MS = 70_000;

const RequestSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  sourceId: Type.String({ minLength: 1, maxLength: 200 }),
  by: Type.String({ minLength: 1, maxLength: 300 }),
});
const ReplySchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  cancel: Type.Optional(BackupCancelSchema),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) })),
});

export interface SnapshotCancelRelayDeps {
  readonly redis: Redis;
  readonly seal: FleetSeal;
  readonly logger: Logger;
  /** Cancels on this node (BackupService.cancelSnapshot). */
  readonly local: (sourceId: string, by: string) => BackupCancel;
  /** The source is this node's, or a snapshot of it runs here. */
  readonly isLocal: (sourceId: string) => boolean;
  /** The node that owns a source, from the fleet's catalogue (CatalogueShare.ownerOfSource). */
  readonly ownerOf: (sourceId: string) => Promise<string | null>;
}

interface Pending {
  readonly node: string;
  readonly settle: (reply: { cancel?: BackupCancel; error?: { code: string; message: string; field?: string } }) => void;
}

/**
 * `backup.snapshot.cancel` across a fleet. A snapshot runs on the node that owns its source (its file
 * is there), whichever node an operator asks: a cancel for another node's source is sent to that
 * node over Redis (`ph:backup:cancel:<node>`, sealed with the fleet secret), which cancels it as if
 * asked directly and answers on `ph:backup:cancel-reply:<asker>`. No node listening, Redis away or
 * no answer within 5 s is PH_BACKUP_NODE_UNREACHABLE, never a silent success. A request is acted on
 * once: a copy of one already seen is dropped as a replay (counted `stale`).
 */
export class SnapshotCancelRelay implements Service {
  readonly name = 'backup-cancel-relay';
  readonly #pending = new Map<string, Pending>();
  readonly #seen = new Map<string, number>();
  #subscriber: Subscriber | null = null;
  #state: ServiceState = 'idle';
  #lastError: string | null = null;

  constructor(private readonly deps: SnapshotCancelRelayDeps) {}

  async start(): Promise<void> {
    const node = this.deps.seal.nodeId;
    const subscriber = new Subscriber(this.deps.redis, {}, (err: Error) =>
      this.deps.logger.debug({ err: err.message }, 'backup cancel relay subscriber error'),
    );
    this.#subscriber = subscriber;
    subscriber.client.on('message', (channel: string, text: string) => {
      if (channel === requestChannel(node)) void this.#onRequest(text);
      else if (channel === replyChannel(node)) this.#onReply(text);
    });
    // Subscribed again once Redis is back (after a start without it too): the relay works again.
    subscriber.onSubscribed(() => {
      this.#lastError = null;
    });
    try {
      await subscriber.subscribeAtStart(requestChannel(node), replyChannel(node));
    } catch (err) {
      // Subscribed again when Redis is back (Subscriber); until then other nodes' cancels cannot reach this one.
      this.#lastError = redisTrouble(err);
      this.deps.logger.warn({ err }, 'backup cancel relay not subscribed yet');
    }
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.#subscriber?.client.disconnect();
    this.#subscriber = null;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.settle({ error: { code: 'PH_BACKUP_NODE_UNREACHABLE', message: 'This node stopped before the answer came' } });
    }
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running' || this.#lastError === null) return { state: this.#state };
    return { state: 'degraded', detail: `redis: ${this.#lastError}` };
  }

  /** Cancels the snapshot of `sourceId` where it runs: here, or on the node that owns the source. */
  async cancel(sourceId: string, by: string): Promise<BackupCancel> {
    if (this.deps.isLocal(sourceId)) return this.deps.local(sourceId, by);
    let owner: string | null;
    try {
      owner = await this.deps.ownerOf(sourceId);
    } catch (err) {
      throw unreachable(`Redis is unreachable, so the node that owns source ${sourceId} is unknown: ${(err as Error).message}`);
    }
    // No node of the fleet owns it: answered here (PH_BACKUP_NOT_RUNNING), as on a single node.
    if (owner === null || owner === this.deps.seal.nodeId) return this.deps.local(sourceId, by);
    return this.#ask(owner, sourceId, by);
  }

  async #ask(node: string, sourceId: string, by: string): Promise<BackupCancel> {
    const id = randomUUID();
    const answer = new Promise<Parameters<Pending['settle']>[0]>((settle) => this.#pending.set(id, { node, settle }));
    const timer = setTimeout(
      () =>
        this.#pending.get(id)?.settle({
          error: {
            code: 'PH_BACKUP_NODE_UNREACHABLE',
            message: `Node ${node} did not answer within ${ANSWER_WITHIN_MS / 1000} s; see its backup.history for whether the cancel arrived`,
          },
        }),
      ANSWER_WITHIN_MS,
    );
    try {
      const channel = requestChannel(node);
      let listeners: number;
      try {
        listeners = await this.deps.redis.publish(channel, this.deps.seal.seal(REQUEST, channel, JSON.stringify({ id, sourceId, by })));
      } catch (err) {
        throw unreachable(
          `Redis is unreachable, so node ${node} (which runs source ${sourceId}) cannot be told: ${(err as Error).message}`,
        );
      }
      if (listeners === 0) throw unreachable(`Node ${node}, which runs the snapshots of source ${sourceId}, is not connected to the fleet`);
      const reply = await answer;
      if (reply.cancel !== undefined) return reply.cancel;
      const error = reply.error ?? { code: 'PH_INTERNAL', message: 'An empty answer' };
      throw new PhError(
        isErrorCode(error.code) ? error.code : 'PH_INTERNAL',
        error.message,
        error.field === undefined ? undefined : { field: error.field },
      );
    } finally {
      clearTimeout(timer);
      this.#pending.delete(id);
    }
  }

  async #onRequest(text: string): Promise<void> {
    const node = this.deps.seal.nodeId;
    const opened = this.deps.seal.openJson(REQUEST, requestChannel(node), text, RequestSchema);
    if (opened === null) return;
    const { id, sourceId, by } = opened.value;
    const now = this.deps.seal.now();
    for (const [seenId, at] of this.#seen) if (now - at > REMEMBER_MS) this.#seen.delete(seenId);
    if (this.#seen.has(id)) {
      this.deps.seal.reject(REQUEST, 'stale');
      return;
    }
    this.#seen.set(id, now);
    let reply: Static<typeof ReplySchema>;
    try {
      reply = { id, cancel: this.deps.local(sourceId, by) };
    } catch (err) {
      reply = { id, error: toErrorBody(err).error };
    }
    const channel = replyChannel(opened.node);
    await this.deps.redis
      .publish(channel, this.deps.seal.seal(REPLY, channel, JSON.stringify(reply)))
      .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message, to: opened.node }, 'backup cancel answer not sent'));
  }

  #onReply(text: string): void {
    const opened = this.deps.seal.openJson(REPLY, replyChannel(this.deps.seal.nodeId), text, ReplySchema);
    if (opened === null) return;
    const pending = this.#pending.get(opened.value.id);
    // Only the node asked may answer its request.
    if (pending === undefined || pending.node !== opened.node) return;
    pending.settle(opened.value);
  }
}

function unreachable(message: string): PhError {
  return new PhError('PH_BACKUP_NODE_UNREACHABLE', message);
}
