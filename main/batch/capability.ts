import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { EventBus } from '../events/event-bus';
import type { Logger } from '../logger';
import type { Service } from '../service';
import { BatchEngine } from './batch-engine';
import { ResourceRegistry } from './batch-registry';
import { BatchService } from './batch-service';
import { registerBuiltinJobs } from './builtin-jobs';
import { BullmqJobQueue, type BullmqJobQueueOptions } from './bullmq-job-queue';
import type { RedisEpoch } from '../fleet';
import type { JobQueue } from './job-types';
import { recordResource } from './record-resource';
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
  /** Tells the distributed queue when Redis came back empty. */
  readonly epoch?: RedisEpoch | null;
  /** Options of the distributed queue (tests shorten its intervals). */
  readonly bullmq?: BullmqJobQueueOptions;
}

export interface BatchCapability {
  readonly registry: ResourceRegistry;
  readonly engine: BatchEngine;
  readonly queue: JobQueue;
  /** In start order. */
  readonly services: readonly Service[];
}

/** Builds the batch engine and the job queue (SQLite, or the distributed one) with the built-in types. */
export function createBatchCapability(deps: BatchCapabilityDeps): BatchCapability {
  const registry = new ResourceRegistry().register('record', recordResource(deps.clock));
  const engine = new BatchEngine(deps.db, registry, deps.clock, deps.logger.child({ component: 'batches' }));
  const logger = deps.logger.child({ component: 'jobs' });
  const queue: JobQueue =
    deps.redis === undefined || deps.redis === null
      ? new SqliteJobQueue(deps.db, deps.clock, logger, deps.bus)
      : new BullmqJobQueue(deps.redis, deps.db, deps.clock, logger, deps.bus, {
          ...deps.bullmq,
          ...(deps.nodeId !== undefined ? { nodeId: deps.nodeId } : {}),
          epoch: deps.epoch ?? null,
        });
  registerBuiltinJobs(queue, engine);
  return { registry, engine, queue, services: [new BatchService(engine, deps.logger), queue] };
}
