import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import type { FleetSeal, RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import type { RedisProbe } from '../redis';
import type { Service } from '../service';
import { BatchEngine } from './batch-engine';
import { ResourceRegistry } from './batch-registry';
import { BatchService } from './batch-service';
import { registerBuiltinJobs } from './builtin-jobs';
import { BullmqJobQueue, type BullmqJobQueueOptions } from './bullmq-job-queue';
import type { PrunePolicy } from './job-history';
import type { JobQueue } from './job-types';
import { recordResource } from './record-resource';
import { BatchReportShare } from './report-share';
import { RedisBoundQueue } from './redis-bound-queue';
import { SqliteJobQueue } from './sqlite-job-queue';

export interface BatchCapabilityDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bus: EventBus;
  /** With a Redis client the queue is BullMQ's, shared by every node; without, the SQLite queue. */
  readonly redis?: Redis | null;
  /** This node's id: names its per-node queues and its published results. */
  readonly nodeId?: string;
  /** Seals the jobs, cancels and results the distributed queue shares; required with `redis`. */
  readonly seal?: FleetSeal | null;
  /** Tells the distributed queue when Redis came back empty. */
  readonly epoch?: RedisEpoch | null;
  /** Whether Redis answers (the node's probe), for the distributed queue's status. */
  readonly probe?: Pick<RedisProbe, 'trouble'> | null;
  /** Options of the distributed queue (tests shorten its intervals). */
  readonly bullmq?: BullmqJobQueueOptions;
  /** How much ended job history either queue keeps (config `retention`); the retention defaults otherwise. */
  readonly jobHistory?: PrunePolicy;
  /** How long batch reports are kept (config `retention.batchDays`); 7 days otherwise. */
  readonly batchKeepMs?: number;
}

export interface BatchCapability {
  readonly registry: ResourceRegistry;
  readonly engine: BatchEngine;
  readonly queue: JobQueue;
  /** With Redis: the BullMQ queue behind `queue` (its outbox, results and node roster). */
  readonly distributed: BullmqJobQueue | null;
  /** With Redis: batch reports published fleet-wide. */
  readonly reports: BatchReportShare | null;
  /** In start order. */
  readonly services: readonly Service[];
}

/** Builds the batch engine and the job queue (SQLite, or the distributed one) with the built-in types. */
export function createBatchCapability(deps: BatchCapabilityDeps): BatchCapability {
  const registry = new ResourceRegistry().register('record', recordResource(deps.clock));
  const engine = new BatchEngine(deps.db, registry, deps.clock, deps.logger.child({ component: 'batches' }));
  const logger = deps.logger.child({ component: 'jobs' });
  const distributed =
    deps.redis === undefined || deps.redis === null
      ? null
      : new BullmqJobQueue(deps.redis, deps.db, deps.clock, logger, deps.bus, sealOf(deps), {
          ...deps.bullmq,
          ...(deps.nodeId !== undefined ? { nodeId: deps.nodeId } : {}),
          epoch: deps.epoch ?? null,
          probe: deps.probe ?? null,
          ...(deps.jobHistory !== undefined ? { history: deps.jobHistory } : {}),
        });
  const queue: JobQueue =
    distributed === null
      ? new SqliteJobQueue(deps.db, deps.clock, logger, deps.bus, {
          ...(deps.jobHistory === undefined ? {} : { prune: deps.jobHistory }),
          ...(deps.nodeId === undefined ? {} : { nodeId: deps.nodeId }),
        })
      : new RedisBoundQueue(distributed);
  registerBuiltinJobs(queue, engine);
  let reports: BatchReportShare | null = null;
  if (deps.redis != null && deps.seal != null) {
    const share = new BatchReportShare(
      deps.redis,
      deps.nodeId ?? (distributed as BullmqJobQueue).nodeId,
      () => deps.clock.now(),
      logger,
      deps.seal,
      deps.batchKeepMs ?? 7 * 24 * 3600_000,
    );
    engine.onFinished((report) => share.publishSoon(report));
    deps.epoch?.onEmptied(async () => {
      const n = await share.republish(engine);
      logger.warn({ batches: n }, 're-published batch reports to the emptied redis');
    });
    reports = share;
  }
  return { registry, engine, queue, distributed, reports, services: [new BatchService(engine, deps.logger), queue] };
}

function sealOf(deps: BatchCapabilityDeps): FleetSeal {
  if (deps.seal === undefined || deps.seal === null) throw new Error('A job queue on Redis needs the fleet seal');
  return deps.seal;
}
