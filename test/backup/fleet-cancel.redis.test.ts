import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type JobsNode } from '../fleet/jobs-nodes';
import { testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { heldDatabase } from './backup-fixture';

/**
 * `backup.snapshot.cancel` on a fleet: three real control planes on one private Redis. A snapshot
 * runs on the node that owns its source (A), whichever node an operator asks to cancel it (B).
 * The snapshot is held at its capture by a writer's EXCLUSIVE lock on the source (the capture waits
 * up to its 5 s busy window), so it is under way while the test cancels it.
 */
describe('cancelling a snapshot through another node of the fleet', () => {
  let redis: TestRedis;
  let a: JobsNode;
  let b: JobsNode;
  let c: JobsNode;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode(redis.url);
    b = await startNode(redis.url);
    c = await startNode(redis.url);
  }, 120_000);
  afterAll(async () => {
    for (const n of [a, b, c]) await n?.remove();
    await redis?.stop();
  }, 60_000);

  /** Registers a rollback-journal database on `owner` and waits until `via` sees it in the fleet's catalogue. */
  async function heldSource(owner: JobsNode, via: JobsNode, name: string): Promise<{ sourceId: string; writer: BetterSqlite3.Database }> {
    const path = join(owner.dataDir, `${name}.db`);
    const writer = heldDatabase(path);
    const sourceId = (await owner.op('backup.sources.register', { name, path })).body.source.id as string;
    await until(
      async () => (await via.op('backup.sources.list')).body.sources.some((s: { id: string }) => s.id === sourceId),
      10_000,
      `node B seeing source ${name}`,
    );
    return { sourceId, writer };
  }

  /** Enqueues the snapshot job on `via` (it runs on the owner) and waits until the owner reports it running. */
  async function snapshotRunning(owner: JobsNode, via: JobsNode, sourceId: string): Promise<string> {
    const jobId = (await via.op('jobs.enqueue', { type: 'backup.snapshot', payload: { sourceId }, attempts: 3 })).body.job.id as string;
    await until(
      async () => (await owner.op('backup.sources.list')).body.running.some((p: { sourceId: string }) => p.sourceId === sourceId),
      5_000,
      'the snapshot running on its node',
    );
    return jobId;
  }

  const rejected = async (n: JobsNode, reason: string): Promise<number> => {
    const metric = n.plane.running.metrics.registry.getSingleMetric('pilothouse_fleet_messages_rejected_total') as Counter | undefined;
    const values = (await metric?.get())?.values ?? [];
    return values.find((v) => v.labels.channel === 'backup.cancel' && v.labels.reason === reason)?.value ?? 0;
  };

  it('a cancel asked of node B stops the snapshot running on node A, which records who cancelled it; the job ends dead', async () => {
    const { sourceId, writer } = await heldSource(a, b, 'held-a');
    writer.exec('BEGIN EXCLUSIVE');
    let jobId: string;
    let answer: { status: number; body: any };
    try {
      jobId = await snapshotRunning(a, b, sourceId);
      answer = await b.op('backup.snapshot.cancel', { sourceId });
    } finally {
      writer.exec('COMMIT');
      writer.close();
    }
    expect(answer.status).toBe(200);
    expect(answer.body.cancel).toMatchObject({ sourceId, by: expect.stringMatching(/^key:/) });
    await until(async () => (await b.op('jobs.get', { id: jobId })).body.job.state === 'dead', 15_000, 'the job dead');
    const { job } = (await b.op('jobs.get', { id: jobId })).body;
    expect(job.attemptsMade).toBe(1);
    expect(job.lastError).toContain('cancelled by key:');
    // The cancel is A's: in A's history, none in B's, and A recorded no snapshot.
    const onA = (await a.op('backup.history')).body.cancelled;
    expect(onA).toEqual([expect.objectContaining({ id: answer.body.cancel.id, sourceId, by: answer.body.cancel.by })]);
    expect((await b.op('backup.history')).body.cancelled).toEqual([]);
    expect((await a.op('backup.snapshots.list', { sourceId })).body.total).toBe(0);
  });

  it("answers node A's PH_BACKUP_NOT_RUNNING when A runs no snapshot of the source, and B's own app source stays B's", async () => {
    const { sourceId, writer } = await heldSource(a, b, 'idle-a');
    writer.close();
    const idle = await b.op('backup.snapshot.cancel', { sourceId });
    expect(idle.status).toBe(409);
    expect(idle.body.error.code).toBe('PH_BACKUP_NOT_RUNNING');
    expect(idle.body.error.message).toContain(sourceId);
    // Every node has an `app` source: a cancel of it means the asked node's own.
    const app = await b.op('backup.snapshot.cancel', { sourceId: 'app' });
    expect(app.body.error.code).toBe('PH_BACKUP_NOT_RUNNING');
  });

  it('drops a cancel request not sealed with the fleet secret, and a replay of a sealed one, without stopping the snapshot', async () => {
    const { sourceId, writer } = await heldSource(a, b, 'abused-a');
    const channel = `ph:backup:cancel:${a.plane.nodeId}`;
    // A genuine request of B's, answered once while nothing runs: an eavesdropper keeps a copy.
    const replies = redis.client();
    const answered: string[] = [];
    replies.on('message', (_channel: string, text: string) => answered.push(text));
    await replies.subscribe(`ph:backup:cancel-reply:${b.plane.nodeId}`);
    const captured = testSeal(b.plane.nodeId).seal('backup.cancel', channel, JSON.stringify({ id: 'req-1', sourceId, by: 'key:thief' }));
    await redis.client().publish(channel, captured);
    await until(() => answered.length === 1, 5_000, "A's answer to the genuine request");
    expect(answered[0]).toContain('PH_BACKUP_NOT_RUNNING');

    writer.exec('BEGIN EXCLUSIVE');
    let jobId: string;
    try {
      jobId = await snapshotRunning(a, b, sourceId);
      const [forgedBefore, staleBefore] = [await rejected(a, 'signature'), await rejected(a, 'stale')];
      const forged = `ph1|${b.plane.nodeId}|${Date.now()}|${'A'.repeat(43)}|${JSON.stringify({ id: 'req-2', sourceId, by: 'key:thief' })}`;
      await redis.client().publish(channel, forged);
      await until(async () => (await rejected(a, 'signature')) > forgedBefore, 3_000, 'the forged request dropped');
      await redis.client().publish(channel, captured);
      await until(async () => (await rejected(a, 'stale')) > staleBefore, 3_000, 'the replayed request dropped');
      expect((await a.op('backup.sources.list')).body.running.some((p: { sourceId: string }) => p.sourceId === sourceId)).toBe(true);
      expect((await a.op('backup.history')).body.cancelled.some((x: { sourceId: string }) => x.sourceId === sourceId)).toBe(false);
      expect((await b.op('backup.snapshot.cancel', { sourceId })).status).toBe(200);
    } finally {
      writer.exec('COMMIT');
      writer.close();
    }
    await until(async () => (await b.op('jobs.get', { id: jobId })).body.job.state === 'dead', 15_000, 'the job dead');
    expect((await a.op('backup.history')).body.cancelled.filter((x: { sourceId: string }) => x.sourceId === sourceId)).toEqual([
      expect.objectContaining({ by: expect.stringMatching(/^key:/) }),
    ]);
  });

  it('answers 503 PH_BACKUP_NODE_UNREACHABLE for a source whose node has left the fleet, not that nothing runs', async () => {
    const { sourceId, writer } = await heldSource(c, b, 'gone-c');
    writer.close();
    await c.stop();
    const gone = await b.op('backup.snapshot.cancel', { sourceId });
    expect(gone.status).toBe(503);
    expect(gone.body.error.code).toBe('PH_BACKUP_NODE_UNREACHABLE');
    expect(gone.body.error.message).toContain(c.plane.nodeId);
  });
});
