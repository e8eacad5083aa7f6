import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteJobQueue, batchMigrations } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { WebhookService, webhooksMigrations } from '../../main/webhooks';
import { testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';
import { startReceiver, type Receiver } from './receiver';

/** One node's webhook service on the shared Redis (its own SQLite and job queue). */
async function node(name: string, redisUrl: string, cleanups: (() => Promise<void> | void)[]) {
  const dir = tempDir(`ph-wh-claims-${name}-`);
  const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: [...batchMigrations, ...webhooksMigrations] });
  const bus = new EventBus();
  const logger = createLogger('silent');
  const queue = new SqliteJobQueue(db, systemClock, logger, bus, { pruneEveryMs: 3_600_000 });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  await redis.ping();
  const webhooks = new WebhookService({
    db,
    dataDir: dir.path,
    queue,
    bus,
    clock: systemClock,
    logger,
    ownPort: () => null,
    audit: () => undefined,
    redis,
    seal: testSeal(name),
  });
  await queue.start();
  await webhooks.start();
  cleanups.push(async () => {
    await webhooks.stop();
    await queue.stop();
    redis.disconnect();
    db.close();
    dir.remove();
  });
  return webhooks;
}

describe('events that every node publishes', () => {
  let redis: TestRedis;
  let rx: Receiver;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    rx = await startReceiver();
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await rx?.close();
    await redis?.stop();
  });

  it('become a delivery on the first node to see them only; events of one node are never held back', async () => {
    const [a, b] = [await node('node-a', redis.url, cleanups), await node('node-b', redis.url, cleanups)];
    await a.create({ url: rx.url, eventTypes: ['service.health', 'job.finished'] }, 'test');
    // Every node holds every endpoint (the fleet-wide table would bring it; handed over directly here).
    for (const [id, value] of a.replicas.rows()) b.replicas.apply(id, value);
    expect(b.endpoints.list()).toHaveLength(1);
    // A registry change is applied, and published, on each node, each stamping its own time.
    const health = (at: string) => ({
      type: 'service.health' as const,
      data: { id: 'svc-1', name: 'api', state: 'critical', previous: 'passing', check: null, at },
    });
    const made = [
      (await a.publish(health('2026-12-03T17:00:00.000Z'))).length,
      (await b.publish(health('2026-12-03T17:00:00.250Z'))).length,
    ];
    expect(made.sort()).toEqual([0, 1]);
    // The next change of the same instance is a new event.
    expect(
      await a.publish({
        type: 'service.health',
        data: { id: 'svc-1', name: 'api', state: 'passing', previous: 'critical', check: null, at: '' },
      }),
    ).toHaveLength(1);
    // A job finishes on one node only: no claim, both nodes deliver their own.
    expect(await a.publish({ type: 'job.finished', data: { id: 'j1', type: 'x', state: 'completed' } })).toHaveLength(1);
    expect(await b.publish({ type: 'job.finished', data: { id: 'j1', type: 'x', state: 'completed' } })).toHaveLength(1);
  });
});
