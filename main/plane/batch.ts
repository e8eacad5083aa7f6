/** The batch and job engine's wiring, with the sagas that run as one of its job types. */
import { createBatchCapability, type BatchCapability } from '../batch';
import type { EventBus } from '../events';
import { Sagas } from '../sagas';
import type { FleetWiring } from './fleet';
import type { Wiring } from './wiring';

export async function wireBatch(w: Wiring, deps: { bus: EventBus; fleet: FleetWiring }): Promise<{ batch: BatchCapability; sagas: Sagas }> {
  const { redis, seal, epoch, claim } = deps.fleet;
  const batch = createBatchCapability({
    db: w.db,
    clock: w.clock,
    logger: w.logger,
    bus: deps.bus,
    redis: redis?.client ?? null,
    nodeId: w.nodeId,
    epoch,
    seal,
    probe: redis?.probe ?? null,
    jobHistory: w.kept.batch.jobs,
    batchKeepMs: w.kept.batch.batchMs,
    // A job this node cannot open is failed only once its secret is known to be the fleet's.
    bullmq: { ...w.options.fleet?.jobs, ...(claim === null ? {} : { secretConfirmed: () => claim.confirmed }) },
  });
  // Before the queue starts: its workers serve the saga job type from the first poll.
  const sagas = new Sagas({
    db: w.db,
    clock: w.clock,
    queue: batch.queue,
    bus: deps.bus,
    logger: w.logger.child({ component: 'sagas' }),
    fleet: redis === null || seal === null ? null : { redis: redis.client, seal, epoch },
  });
  for (const service of batch.services) await w.start(service);
  return { batch, sagas };
}
