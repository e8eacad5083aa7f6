import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import { roleAllows, type Role } from '../../contract/roles';
import type { JobHandler, JobQueue } from '../batch';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import { newId, type FleetSeal, type RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import { SagaRunner } from './saga-runner';
import { RedisSagaStore } from './redis-saga-store';
import { ENDED_STATES, type Saga, type SagaFilter, type SagaStore } from './saga-store';
import { SqliteSagaStore } from './sqlite-saga-store';
import type { SagaType } from './saga-types';

/** The job type every saga runs as. */
export const SAGA_JOB_TYPE = 'saga.run';
/** The same, for a saga tied to one node's files (SagaType.node): its job waits for that node. */
export const SAGA_NODE_JOB_TYPE = 'saga.run.on-node';
/** A saga job re-runs only after a crash or a shutdown (the runner retries steps itself): plenty of room for those. */
const SAGA_JOB_ATTEMPTS = 100;

export interface SagasDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly queue: JobQueue;
  readonly bus: EventBus | null;
  readonly logger: Logger;
  /** With Redis: sagas are kept there, fleet-wide, and re-published by this node when Redis comes back empty. */
  readonly fleet?: { readonly redis: Redis; readonly seal: FleetSeal; readonly epoch: RedisEpoch | null; readonly keepMs?: number } | null;
}

/**
 * Saga types, registered like job types, and the sagas started from them. A saga runs as one job
 * (`saga.run`) on the queue, so a node killed mid-saga hands it to the next attempt, which resumes
 * from the stored state. Without Redis that state is this node's SQLite; with Redis it is the
 * fleet's (redis-saga-store.ts), so the job goes on the shared queue and any live node runs it
 * (or, for a type that names one, the node whose files it acts on).
 */
export class Sagas {
  readonly #types = new Map<string, SagaType>();
  readonly #store: SagaStore;
  readonly #fleet: RedisSagaStore | null;
  readonly #runner: SagaRunner;

  constructor(private readonly deps: SagasDeps) {
    const fleet = deps.fleet ?? null;
    this.#fleet =
      fleet === null
        ? null
        : new RedisSagaStore({
            redis: fleet.redis,
            db: deps.db,
            seal: fleet.seal,
            clock: deps.clock,
            ...(fleet.keepMs === undefined ? {} : { keepMs: fleet.keepMs }),
          });
    this.#store = this.#fleet ?? new SqliteSagaStore(deps.db, deps.clock);
    this.#runner = new SagaRunner({
      store: this.#store,
      changed: (id, type, state) => deps.bus?.publish('sagas.changed', { id, type, state }),
      stuck: (id, type, step, attempts, error) => this.#alertStuck(id, type, step, attempts, error),
    });
    const run: JobHandler = async (payload, ctx) => {
      const { sagaId } = payload as { sagaId: string };
      const type = this.#type((await this.#store.head(sagaId)).type);
      return { state: await this.#runner.run(sagaId, type, ctx) };
    };
    // Started through sagas.start only, which checks the caller's role against the type's startRole.
    deps.queue.register(SAGA_JOB_TYPE, run, { concurrency: 8, internal: true });
    deps.queue.register(SAGA_NODE_JOB_TYPE, run, {
      concurrency: 8,
      internal: true,
      placement: { owner: (payload, here) => (payload as { node?: string }).node ?? here },
    });
    fleet?.epoch?.onEmptied(async () => {
      const requeued = await this.recover();
      deps.logger.warn({ requeued }, 're-published sagas to the emptied redis and queued the unfinished ones again');
    });
  }

  register<I>(type: SagaType<I>): this {
    if (this.#types.has(type.type)) throw new Error(`Saga type ${type.type} is registered twice`);
    const names = type.steps.map((s) => s.name);
    if (new Set(names).size !== names.length) throw new Error(`Saga type ${type.type} has two steps of one name`);
    this.#types.set(type.type, type as SagaType);
    return this;
  }

  types(): { type: string; description: string; steps: string[]; startRole: Role }[] {
    return [...this.#types.values()].map((t) => ({
      type: t.type,
      description: t.description,
      steps: t.steps.map((s) => s.name),
      startRole: startRoleOf(t),
    }));
  }

  /** Refuses a caller whose role the type's steps would reach beyond (`SagaType.startRole`). */
  mayStart(type: string, role: Role): void {
    const needed = startRoleOf(this.#type(type));
    if (!roleAllows(role, needed))
      throw new PhError(
        'PH_FORBIDDEN',
        `Starting ${type} needs the ${needed} role, since its steps do what that role may; this caller is ${role}`,
      );
  }

  async start(input: { type: string; input?: unknown; idempotencyKey?: string }): Promise<Saga> {
    const type = this.#type(input.type);
    type.validateInput?.(input.input);
    await type.checkInput?.(input.input);
    // Only a fleet places a saga: one node runs them all without Redis.
    const node = this.#fleet === null ? null : ((await type.node?.(input.input)) ?? null);
    const { id, created } = await this.#store.create({
      ...(node === null ? {} : { node }),
      id: newId(),
      type: type.type,
      input: input.input,
      ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
      steps: type.steps.map((s) => s.name),
    });
    if (created || (await this.#store.get(id)).jobId === null) {
      await this.#enqueue(id, node);
      this.deps.bus?.publish('sagas.changed', { id, type: type.type, state: 'running' });
    }
    return this.#store.get(id);
  }

  get(id: string): Promise<Saga> {
    return this.#store.get(id);
  }

  list(filter: SagaFilter): Promise<{ sagas: Saga[]; total: number }> {
    return this.#store.list(filter);
  }

  /** Stops a running saga before its next step; the runner then compensates what it completed. */
  async cancel(id: string, by: string): Promise<Saga> {
    const saga = await this.#store.get(id);
    if (ENDED_STATES.includes(saga.state) || !(await this.#store.requestCancel(id, by))) {
      throw new PhError('PH_SAGA_ENDED', `Saga ${id} is ${saga.state}; only a running saga can be cancelled`);
    }
    return this.#store.get(id);
  }

  /**
   * After Redis came back empty: this node's copies go back (the newest of the fleet's copies
   * wins) and every unfinished one's job is queued again. Its key makes that one job, however
   * many nodes (and outboxes) queue it. Returns how many were queued.
   */
  async recover(): Promise<number> {
    if (this.#fleet === null) return 0;
    const unfinished = await this.#fleet.republish();
    for (const { id, node } of unfinished) await this.#enqueue(id, node);
    return unfinished.length;
  }

  /** The job's own key makes a retried start (or one after a crash between the two writes) enqueue once. */
  async #enqueue(id: string, node: string | null): Promise<void> {
    const job = await this.deps.queue.enqueue({
      ...(node === null ? { type: SAGA_JOB_TYPE, payload: { sagaId: id } } : { type: SAGA_NODE_JOB_TYPE, payload: { sagaId: id, node } }),
      attempts: SAGA_JOB_ATTEMPTS,
      backoffMs: 1_000,
      idempotencyKey: `saga:${id}`,
    });
    await this.#store.setJob(id, job.id);
  }

  #type(name: string): SagaType {
    const type = this.#types.get(name);
    if (type === undefined)
      throw new PhError('PH_SAGA_UNKNOWN_TYPE', `No saga type ${JSON.stringify(name)} is registered`, { field: 'type' });
    return type;
  }

  /** A stuck compensation needs an operator: an alert on the console, its notifier and webhooks. */
  #alertStuck(id: string, type: string, step: string, attempts: number, error: string): void {
    this.deps.logger.error({ sagaId: id, type, step, attempts, error }, 'saga compensation is stuck');
    this.deps.bus?.publish('monitoring.alert', {
      ruleId: `saga-stuck:${id}`,
      name: `Saga ${type} stuck compensating ${step}`,
      severity: 'critical',
      state: 'firing',
      metric: 'saga.compensation.attempts',
      value: attempts,
      threshold: attempts,
      comparator: '>=',
      since: new Date(this.deps.clock.now()).toISOString(),
      message: `Saga ${id}: compensating ${step} failed ${attempts} times (${error}); undo it by hand, then look at the saga`,
    });
  }
}

const startRoleOf = (type: SagaType): Role => type.startRole ?? 'operator';
