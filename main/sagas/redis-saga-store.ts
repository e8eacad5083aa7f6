import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import { newId, type FleetSeal } from '../fleet';
import { withRedisDeadline } from '../redis';
import { docSteps, docToSaga, mutations, newDoc, SagaDocSchema, type Mutation, type SagaDoc } from './saga-doc';
import {
  ENDED_STATES,
  SagaTakenOver,
  type NewSaga,
  type Saga,
  type SagaFilter,
  type SagaHead,
  type SagaState,
  type SagaStore,
  type StepError,
  type StoredStep,
} from './saga-store';

/** The fleet seal's kind for a saga document in Redis. */
const KIND = 'sagas.saga';
const INDEX = 'ph:sagas:index';
const sagaKey = (id: string): string => `ph:saga:${id}`;
const idempotencyKeyOf = (key: string): string => `ph:saga:key:${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
/** Ended sagas are kept this long (Redis and local copies) unless told otherwise. */
export const DEFAULT_SAGA_KEEP_MS = 30 * 24 * 3_600_000;
/** Writers of one saga race only on a cancel beside its runner: a handful of rounds settles it. */
const MAX_ROUNDS = 50;

/** Writes the document only if the stored revision is still the one it was read at (0: absent). */
const WRITE_IF_UNCHANGED = `
local current = redis.call('HGET', KEYS[1], 'rev') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'doc', ARGV[3])
if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1`;

/** Writes the document only if Redis holds none or an older revision: a node's copy re-published. */
const WRITE_IF_NEWER = `
local current = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'doc', ARGV[2])
if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

export interface RedisSagaStoreDeps {
  readonly redis: Redis;
  readonly db: Database;
  readonly seal: FleetSeal;
  readonly clock: Clock;
  /** How long an ended saga is kept; default 30 days. */
  readonly keepMs?: number;
}

/**
 * Sagas fleet-wide: each saga is one sealed document in Redis (`ph:saga:<id>`, with its revision
 * beside it), listed in `ph:sagas:index`, so every node reads it and any node's worker can run it.
 * A write is a compare-and-set on the revision, so a cancel from one node and the runner on another
 * never undo each other's change. Every node keeps its own copy of each saga it wrote, as it last
 * wrote it (`saga_copies`): read when Redis is away or lost the saga, and re-published (newest
 * revision wins) when Redis comes back empty, so no saga a node took part in is lost with Redis.
 */
export class RedisSagaStore implements SagaStore {
  readonly #keepMs: number;

  /** `runner`: the run this view writes for (from `claim`); null for everyone else's reads and writes. */
  constructor(
    private readonly deps: RedisSagaStoreDeps,
    private readonly runner: string | null = null,
  ) {
    this.#keepMs = deps.keepMs ?? DEFAULT_SAGA_KEEP_MS;
  }

  /**
   * Makes this run the saga's runner, on the newest copy there is (Redis's, or this node's when its
   * own is newer: the node still running it after Redis emptied keeps it, and the later run yields).
   */
  async claim(id: string): Promise<SagaStore> {
    const runner = newId();
    await this.#mutate(id, mutations.claim(runner));
    return new RedisSagaStore(this.deps, runner);
  }

  async create(saga: NewSaga): Promise<{ id: string; created: boolean }> {
    const { redis } = this.deps;
    let id = saga.id;
    if (saga.idempotencyKey !== undefined) {
      const key = idempotencyKeyOf(saga.idempotencyKey);
      // The key is claimed before the saga is written: of two starts with one key, one makes the saga.
      const claimed = await unavailable(redis.set(key, saga.id, 'NX'));
      if (claimed === null) {
        const owner = await unavailable(redis.get(key));
        const existing = owner === null ? null : await this.#newest(owner);
        if (existing !== null && existing.idempotencyKey === saga.idempotencyKey) return { id: existing.id, created: false };
        // The claim's saga was never written (its start died between the two writes): this start writes it.
        if (owner !== null && existing === null) id = owner;
        else await unavailable(redis.set(key, saga.id));
      }
    }
    const doc = newDoc({ ...saga, id }, this.deps.clock.now());
    if (!(await unavailable(this.#write(doc, 0)))) {
      const existing = await this.#newest(id);
      if (existing !== null) return { id, created: false };
      throw new PhError('PH_INTERNAL', `Saga ${id} could not be written`);
    }
    await unavailable(redis.zadd(INDEX, doc.createdAt, id));
    return { id, created: true };
  }

  async setJob(id: string, jobId: string): Promise<void> {
    await this.#mutate(id, mutations.setJob(jobId), false);
  }

  async get(id: string): Promise<Saga> {
    return docToSaga(await this.#load(id));
  }

  /**
   * The fleet's sagas, newest first; this node's copies alone while Redis does not answer (down, or
   * hung past the Redis deadline). Unfiltered (the console's list), only the page's sagas are read; a
   * filter on state or type reads them all.
   */
  async list(filter: SagaFilter): Promise<{ sagas: Saga[]; total: number }> {
    const offset = filter.offset ?? 0;
    const limit = filter.limit ?? 50;
    const unfiltered = filter.state === undefined && filter.type === undefined;
    const local = (): { sagas: Saga[]; total: number } => pageOf(this.#localCopies(), filter, offset, limit);
    if (unfiltered) return withRedisDeadline(this.#page(offset, limit), 'sagas.list').catch(local);
    return withRedisDeadline(this.#all(), 'sagas.list').then((docs) => pageOf(docs, filter, offset, limit), local);
  }

  async head(id: string): Promise<SagaHead> {
    const doc = await this.#load(id);
    return { type: doc.type, state: doc.state, input: doc.input, cancelRequested: doc.cancelRequested };
  }

  async steps(id: string): Promise<StoredStep[]> {
    return docSteps(await this.#load(id));
  }

  async requestCancel(id: string, by: string): Promise<boolean> {
    return (await this.#mutate(id, mutations.requestCancel(by), false)) !== null;
  }

  async actionStarted(id: string, idx: number): Promise<number> {
    const doc = await this.#mutate(id, mutations.actionStarted(idx));
    return (doc as SagaDoc).steps[idx]?.attempts ?? 0;
  }

  async actionDone(id: string, idx: number, result: unknown): Promise<void> {
    await this.#mutate(id, mutations.actionDone(idx, result));
  }

  async recordError(id: string, idx: number, phase: StepError['phase'], message: string): Promise<void> {
    await this.#mutate(id, mutations.recordError(idx, phase, message));
  }

  async actionFailed(id: string, idx: number, failure: string): Promise<void> {
    await this.#mutate(id, mutations.actionFailed(idx, failure));
  }

  async beginCompensation(id: string, failure: string | null): Promise<void> {
    await this.#mutate(id, mutations.beginCompensation(failure));
  }

  async compensationStarted(id: string, idx: number): Promise<number> {
    const doc = await this.#mutate(id, mutations.compensationStarted(idx));
    return (doc as SagaDoc).steps[idx]?.compensationAttempts ?? 0;
  }

  async compensated(id: string, idx: number): Promise<void> {
    await this.#mutate(id, mutations.compensated(idx));
  }

  async stuck(id: string, idx: number): Promise<void> {
    await this.#mutate(id, mutations.stuck(idx));
  }

  async finish(id: string, state: SagaState): Promise<void> {
    await this.#mutate(id, mutations.finish(state));
  }

  /**
   * After Redis came back empty: writes every saga this node holds a copy of back (a copy newer
   * than what Redis holds wins, so of several nodes' copies the newest stays), with its index entry
   * and idempotency key. Returns those not ended (with the node their job must run on, if any),
   * whose job must be queued again.
   */
  async republish(): Promise<{ id: string; node: string | null }[]> {
    const { redis } = this.deps;
    const unfinished: { id: string; node: string | null }[] = [];
    for (const doc of this.#localCopies()) {
      const key = sagaKey(doc.id);
      await redis.eval(WRITE_IF_NEWER, 1, key, String(doc.rev), this.#sealed(doc), String(this.#ttl(doc)));
      await redis.zadd(INDEX, doc.createdAt, doc.id);
      if (doc.idempotencyKey !== null) await redis.set(idempotencyKeyOf(doc.idempotencyKey), doc.id, 'NX');
      if (!ENDED_STATES.includes(doc.state)) unfinished.push({ id: doc.id, node: doc.node ?? null });
    }
    return unfinished;
  }

  /**
   * Reads, changes and writes back one saga, again from a fresh read when another node wrote
   * between. Starts from the newest of Redis's and this node's copy: the node running a saga always
   * holds its newest state, even when Redis lost it or was handed an older node's copy. Null when
   * the mutation found nothing to change. A runner's write (`fenced`) fails when a later run claimed the saga.
   */
  async #mutate(id: string, mutation: Mutation, fenced = true): Promise<SagaDoc | null> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const shared = await unavailable(this.#read(id));
      const local = this.#localCopy(id);
      const base = newest(shared, local);
      if (base === null) throw notFound(id);
      if (fenced && this.runner !== null && base.runner !== this.runner) throw new SagaTakenOver(id);
      const doc = structuredClone(base);
      const now = this.deps.clock.now();
      if (mutation(doc, now) === false) return null;
      doc.rev = base.rev + 1;
      doc.updatedAt = now;
      if (await unavailable(this.#write(doc, shared?.rev ?? 0))) {
        // Redis had lost it (emptied): it is back, and listed again.
        if (shared === null) await unavailable(this.deps.redis.zadd(INDEX, doc.createdAt, doc.id));
        return doc;
      }
    }
    throw new PhError('PH_UNAVAILABLE', `Saga ${id} kept changing under this write`);
  }

  /**
   * Redis's copy or this node's, whichever is newer; this node's alone when Redis does not answer:
   * a stopped server never rejects, so the read has the Redis deadline.
   */
  async #load(id: string): Promise<SagaDoc> {
    const doc = newest(await withRedisDeadline(this.#read(id), 'sagas.get').catch(() => null), this.#localCopy(id));
    if (doc === null) throw notFound(id);
    return doc;
  }

  async #newest(id: string): Promise<SagaDoc | null> {
    return newest(await unavailable(this.#read(id)), this.#localCopy(id));
  }

  async #read(id: string): Promise<SagaDoc | null> {
    return this.#open(id, await this.deps.redis.hget(sagaKey(id), 'doc'));
  }

  #open(id: string, text: string | null): SagaDoc | null {
    if (text === null) return null;
    const opened = this.deps.seal.openJson(KIND, sagaKey(id), text, SagaDocSchema, false);
    return opened === null || opened.value.id !== id ? null : opened.value;
  }

  /** Compare-and-set on the revision, then this node's copy. */
  async #write(doc: SagaDoc, expectedRev: number): Promise<boolean> {
    const written = await this.deps.redis.eval(
      WRITE_IF_UNCHANGED,
      1,
      sagaKey(doc.id),
      String(expectedRev),
      String(doc.rev),
      this.#sealed(doc),
      String(this.#ttl(doc)),
    );
    if (written !== 1) return false;
    this.#keep(doc);
    return true;
  }

  #sealed(doc: SagaDoc): string {
    return this.deps.seal.seal(KIND, sagaKey(doc.id), JSON.stringify(doc));
  }

  /** An ended saga expires after the keep window; a live one never does. */
  #ttl(doc: SagaDoc): number {
    return ENDED_STATES.includes(doc.state) ? Math.max(1, (doc.finishedAt ?? doc.updatedAt) + this.#keepMs - this.deps.clock.now()) : 0;
  }

  /** Every saga of the index, newest first; entries whose saga expired leave the index. */
  async #all(): Promise<SagaDoc[]> {
    const ids = await this.deps.redis.zrevrange(INDEX, 0, -1);
    const docs: SagaDoc[] = [];
    for (let i = 0; i < ids.length; i += 500) docs.push(...(await this.#readIndexed(ids.slice(i, i + 500))).docs);
    return docs;
  }

  /**
   * One page of the index, newest first, with the index's size as the total. An ended saga expires
   * with its key while its index entry stays: such entries leave the index, and the page is read
   * again, so it is full and the total counts only sagas there are.
   */
  async #page(offset: number, limit: number): Promise<{ sagas: Saga[]; total: number }> {
    for (let round = 1; ; round += 1) {
      const [[sizeErr, size], [rangeErr, ids]] = ((await this.deps.redis
        .multi()
        .zcard(INDEX)
        .zrevrange(INDEX, offset, offset + limit - 1)
        .exec()) ?? []) as [[Error | null, number], [Error | null, string[]]];
      if (sizeErr !== null || rangeErr !== null) throw sizeErr ?? rangeErr;
      const { docs, gone } = await this.#readIndexed(ids);
      // Nodes expiring sagas faster than this reads them: the page as it stands, short by those.
      if (gone === 0 || round === MAX_ROUNDS) return { sagas: docs.map(docToSaga), total: size - gone };
    }
  }

  /** The sagas of these index entries, in order; entries whose saga expired leave the index. */
  async #readIndexed(ids: string[]): Promise<{ docs: SagaDoc[]; gone: number }> {
    const { redis } = this.deps;
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hget(sagaKey(id), 'doc');
    const results = ids.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const docs: SagaDoc[] = [];
    const gone: string[] = [];
    ids.forEach((id, j) => {
      const [err, text] = results[j] ?? [null, null];
      if (err !== null) throw err;
      if (text === null) gone.push(id);
      const doc = this.#open(id, text as string | null);
      if (doc !== null) docs.push(doc);
    });
    if (gone.length > 0) await redis.zrem(INDEX, ...gone);
    return { docs, gone: gone.length };
  }

  #keep(doc: SagaDoc): void {
    const now = this.deps.clock.now();
    const { db } = this.deps;
    db.prepare(
      `INSERT INTO saga_copies (id, rev, doc, ended, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, doc = excluded.doc, ended = excluded.ended, updated_at = excluded.updated_at
       WHERE excluded.rev > saga_copies.rev`,
    ).run(doc.id, doc.rev, JSON.stringify(doc), ENDED_STATES.includes(doc.state) ? 1 : 0, now);
    db.prepare('DELETE FROM saga_copies WHERE ended = 1 AND updated_at < ?').run(now - this.#keepMs);
  }

  #localCopy(id: string): SagaDoc | null {
    const row = this.deps.db.prepare('SELECT doc FROM saga_copies WHERE id = ?').get(id) as { doc: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.doc) as SagaDoc);
  }

  #localCopies(): SagaDoc[] {
    const rows = this.deps.db.prepare('SELECT doc FROM saga_copies').all() as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as SagaDoc).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }
}

function pageOf(docs: SagaDoc[], filter: SagaFilter, offset: number, limit: number): { sagas: Saga[]; total: number } {
  const matching = docs.filter(
    (d) => (filter.state === undefined || d.state === filter.state) && (filter.type === undefined || d.type === filter.type),
  );
  return { sagas: matching.slice(offset, offset + limit).map(docToSaga), total: matching.length };
}

function newest(a: SagaDoc | null, b: SagaDoc | null): SagaDoc | null {
  if (a === null) return b;
  if (b === null) return a;
  return b.rev > a.rev ? b : a;
}

function notFound(id: string): PhError {
  return new PhError('PH_SAGA_NOT_FOUND', `There is no saga with id ${id}`, { field: 'id' });
}

/** A Redis that does not answer is the client's 503, not a 500. */
/**
 * A Redis call with the Redis deadline, its failure as PH_REDIS_UNAVAILABLE: a stopped server
 * never rejects, so a start, cancel or step record would wait as long as it stayed stopped.
 */
async function unavailable<T>(p: Promise<T>): Promise<T> {
  try {
    return await withRedisDeadline(p, 'sagas');
  } catch (err) {
    if (err instanceof PhError) throw err;
    throw new PhError('PH_REDIS_UNAVAILABLE', undefined, { cause: err });
  }
}
