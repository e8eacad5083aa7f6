import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BullmqJobQueue } from '../../main/batch';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { makeDatabase } from '../backup/backup-fixture';
import { startNode, type JobsNode } from './jobs-nodes';

let redis: TestRedis;
const nodes: JobsNode[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.remove();
  await redis.client().flushall();
});

async function node(dataDir?: string): Promise<JobsNode> {
  const n = await startNode(redis.url, dataDir === undefined ? {} : { dataDir });
  nodes.push(n);
  return n;
}

const queueOf = (n: JobsNode): BullmqJobQueue => n.plane.running.batch.distributed as BullmqJobQueue;

/** Every node schedules its own daily `maintenance.run`; these tests look at the jobs they made. */
const notMaintenance = (name: string): boolean => !name.startsWith('maintenance.run');
const testOutbox = (q: BullmqJobQueue): string[] =>
  q.outbox
    .entries(100)
    .map((e) => e.id)
    .filter(notMaintenance);

/** Version of each record `r-<i>` in a node's own database. */
function versions(n: JobsNode, count: number): number[] {
  const db = new Database(join(n.dataDir, 'pilothouse.db'), { readonly: true });
  try {
    return Array.from(
      { length: count },
      (_, i) =>
        (db.prepare("SELECT version FROM batch_records WHERE collection = 'c' AND id = ?").get(`r-${i}`) as { version: number } | undefined)
          ?.version ?? 0,
    );
  } finally {
    db.close();
  }
}

const updateBatch = (i: number) => ({
  mode: 'atomic',
  operations: [{ resource: 'record', action: 'update', id: `r-${i}`, data: { collection: 'c', n: i } }],
});

async function seedRecords(n: JobsNode, count: number): Promise<void> {
  const operations = Array.from({ length: count }, (_, i) => ({
    resource: 'record',
    action: 'create',
    id: `r-${i}`,
    data: { collection: 'c' },
  }));
  expect((await n.op('batch.submit', { batch: { mode: 'atomic', operations } })).body.report.status).toBe('succeeded');
}

async function jobState(n: JobsNode, id: string): Promise<{ state: string; waitingFor: string | null; node: string | null; result: any }> {
  const r = await n.op('jobs.get', { id });
  return r.body.job;
}

describe('jobs across nodes on one Redis', () => {
  it('a backup job enqueued on node 2 runs on node 1, which owns the source, and both see the snapshot', async () => {
    const [n1, n2] = [await node(), await node()];
    const path = join(n1.dataDir, 'orders.db');
    makeDatabase(path, 50).close();
    const reg = await n1.op('backup.sources.register', { name: 'orders', path });
    const sourceId = reg.body.source.id as string;
    await until(
      async () => (await n2.op('backup.sources.list')).body.sources.some((s: any) => s.id === sourceId),
      3_000,
      'the source in the fleet catalogue',
    );
    const listed = (await n2.op('backup.sources.list')).body.sources.find((s: any) => s.id === sourceId);
    expect(listed.node).toBe(n1.plane.nodeId);

    const enq = await n2.op('jobs.enqueue', { type: 'backup.snapshot', payload: { sourceId } });
    expect(enq.status).toBe(200);
    expect(enq.body.job.node).toBe(n1.plane.nodeId);
    const id = enq.body.job.id as string;
    await until(async () => (await jobState(n2, id)).state === 'completed', 10_000, 'the snapshot job to complete');
    const snapshotId = (await jobState(n2, id)).result.snapshotId as string;
    expect(snapshotId).toMatch(/^snap-[0-9a-f]{8}-[0-9a-f]{4}-7/); // a UUIDv7
    expect((await n1.op('backup.snapshots.list', { sourceId })).body.snapshots.map((s: any) => s.id)).toEqual([snapshotId]);
    await until(
      async () => (await n2.op('backup.snapshots.list', { sourceId })).body.snapshots.some((s: any) => s.id === snapshotId),
      3_000,
      'the snapshot in the fleet view',
    );
    expect((await n2.op('backup.snapshots.list', { sourceId })).body.snapshots[0].node).toBe(n1.plane.nodeId);

    // verify goes to the node that holds the snapshot, too
    const verify = await n2.op('jobs.enqueue', { type: 'backup.verify', payload: { snapshotId } });
    expect(verify.body.job.node).toBe(n1.plane.nodeId);
    await until(async () => (await jobState(n2, verify.body.job.id)).state === 'completed', 10_000, 'the verify job');
    // a source no node owns is refused at enqueue, not left to fail on some node; an entry written to
    // Redis without the fleet secret names no owner either
    await redis.client().hset('ph:backup:sources', 'evil/src-forged', JSON.stringify({ ...listed, id: 'src-forged', node: 'evil' }));
    for (const sourceId of ['src-nobody', 'src-forged']) {
      const unknown = await n2.op('jobs.enqueue', { type: 'backup.snapshot', payload: { sourceId } });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('PH_BACKUP_SOURCE_NOT_FOUND');
    }
    expect((await n2.op('backup.sources.list')).body.sources.some((s: any) => s.id === 'src-forged')).toBe(false);
  });

  it('a job whose node is gone waits, says which node it waits for, and runs when that node is back', async () => {
    const [n1, n2] = [await node(), await node()];
    const path = join(n1.dataDir, 'orders.db');
    makeDatabase(path, 20).close();
    const sourceId = (await n1.op('backup.sources.register', { name: 'orders', path })).body.source.id as string;
    await until(
      async () => (await n2.op('backup.sources.list')).body.sources.some((s: any) => s.id === sourceId),
      3_000,
      'the fleet catalogue',
    );
    const owner = n1.plane.nodeId;
    await n1.stop();
    // A liveness key planted without the fleet secret does not make the node look alive.
    await redis.client().set(`ph:jobs:node:${owner}`, '1', 'PX', 60_000);
    const id = (await n2.op('jobs.enqueue', { type: 'backup.snapshot', payload: { sourceId } })).body.job.id as string;
    const waiting = await jobState(n2, id);
    expect(waiting.state).toBe('waiting');
    expect(waiting.waitingFor).toContain(`node ${owner} is offline`);
    const listed = (await n2.op('jobs.list', { type: 'backup.snapshot' })).body.jobs.find((j: any) => j.id === id);
    expect(listed.waitingFor).toContain(owner);

    nodes.splice(nodes.indexOf(n1), 1);
    const back = await node(n1.dataDir);
    expect(back.plane.nodeId).toBe(owner);
    await until(async () => (await jobState(n2, id)).state === 'completed', 10_000, 'the job to run on its node once back');
    expect((await jobState(n2, id)).waitingFor).toBeNull();
  });

  it('a batch.apply job runs on the node it was submitted to, and its report is readable on every node', async () => {
    const [n1, n2] = [await node(), await node()];
    await seedRecords(n2, 3);
    const submitted = await n2.op('batch.submit', { batch: updateBatch(1), background: true });
    const jobId = submitted.body.jobId as string;
    expect(jobId.startsWith(`batch.apply@${n2.plane.nodeId}/`)).toBe(true);
    await until(async () => (await jobState(n1, jobId)).state === 'completed', 10_000, 'the batch job');
    const batchId = (await jobState(n1, jobId)).result.batchId as string;
    expect(batchId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(versions(n2, 3)).toEqual([1, 2, 1]);
    const onOther = await n1.op('batch.status', { id: batchId });
    expect(onOther.status).toBe(200);
    expect(onOther.body).toMatchObject({ batchId, status: 'succeeded', node: n2.plane.nodeId });
    expect((await n1.op('batch.list', {})).body.batches.some((b: any) => b.batchId === batchId && b.node === n2.plane.nodeId)).toBe(true);
    // Several reports in one read (GraphQL's batchReport level) reach the other node's too.
    const many = await n1.op('batch.reports', { ids: [batchId, 'no-such-batch'] });
    expect(many.body.reports).toEqual([expect.objectContaining({ batchId, status: 'succeeded', node: n2.plane.nodeId })]);
  });

  it('Redis restarted empty: every node says so, no id is reused, nothing completes without acting, vanished queued and delayed jobs run once', async () => {
    const [n1, n2] = [await node(), await node()];
    await seedRecords(n1, 6);
    const q1 = queueOf(n1);
    // Two batches done before the outage, and still in the outbox or not: either way never applied again.
    const done: string[] = [];
    for (const i of [0, 1]) done.push((await n1.op('batch.submit', { batch: updateBatch(i), background: true })).body.jobId);
    for (const id of done) await until(async () => (await jobState(n1, id)).state === 'completed', 10_000, 'the first batches');
    const batchIdsBefore = await Promise.all(done.map(async (id) => (await jobState(n1, id)).result.batchId as string));
    // Two delayed batches, and a job no node has a worker for yet: all still queued when Redis dies.
    const delayed: string[] = [];
    for (const i of [2, 3]) delayed.push((await q1.enqueue({ type: 'batch.apply', payload: updateBatch(i), delayMs: 1_500 })).id);
    const parked = await q1.enqueue({ type: 'test.later', payload: { n: 1 } });
    expect(q1.outbox.size()).toBeGreaterThanOrEqual(3);

    await redis.restart(); // killed with SIGKILL and started again, empty, on the same port
    for (const n of [n1, n2]) {
      await until(() => n.events.some((e) => e.event === 'fleet.redis' && e.payload.kind === 'emptied'), 10_000, 'the emptied-redis event');
      const fleet = n.plane.status().services.find((s) => s.name === 'fleet-redis');
      expect(fleet?.detail).toContain('Redis came back empty');
    }
    // The parked job came back under its id; a worker for it now runs it.
    await until(async () => (await q1.get(parked.id)).state === 'waiting', 5_000, 'the parked job re-enqueued');
    const ran: unknown[] = [];
    q1.register('test.later', (payload) => ran.push(payload));
    await until(() => ran.length === 1, 10_000, 'the re-enqueued job to run');
    // The delayed batches came back with their ids and ran once each.
    for (const id of delayed)
      await until(async () => (await jobState(n2, id)).state === 'completed', 10_000, 'a re-enqueued delayed batch');
    // New work after the outage gets new ids and really acts.
    const after = (await n1.op('batch.submit', { batch: updateBatch(4), background: true })).body.jobId as string;
    await until(async () => (await jobState(n1, after)).state === 'completed', 10_000, 'a batch after the outage');
    const afterBatch = (await jobState(n1, after)).result.batchId as string;
    expect([...done, ...delayed, parked.id]).not.toContain(after);
    expect(batchIdsBefore).not.toContain(afterBatch);
    expect(versions(n1, 6)).toEqual([2, 2, 2, 2, 2, 1]);
    // Reports of batches applied before the outage are readable again on the other node.
    await until(async () => (await n2.op('batch.status', { id: batchIdsBefore[0] })).status === 200, 5_000, 'reports re-published');
    await until(() => testOutbox(q1).length === 0, 5_000, 'the outbox to empty once every job ended');
  });

  it("a source's schedule is one repeating job fleet-wide, whose runs all land on the node that owns the source", async () => {
    const [n1, n2] = [await node(), await node()];
    const path = join(n1.dataDir, 'ticking.db');
    makeDatabase(path, 50).close();
    const reg = await n1.op('backup.sources.register', { name: 'ticking', path, schedule: '* * * * * *' });
    const sourceId = reg.body.source.id as string;
    expect(reg.body.source.nextRunAt).not.toBeNull();
    const ofSource = (jobs: any[]) => jobs.filter((j) => j.payload?.sourceId === sourceId && j.repeatCron === '* * * * * *');
    const listed = async (state: string) => ofSource((await n2.op('jobs.list', { type: 'backup.snapshot', state })).body.jobs);
    await until(async () => (await listed('completed')).length >= 2, 15_000, 'two scheduled runs');
    for (const run of await listed('completed')) expect(run.node).toBe(n1.plane.nodeId);
    const snaps = (await n1.op('backup.snapshots.list', { sourceId })).body.snapshots;
    expect(snaps.length).toBeGreaterThanOrEqual(2);
    expect(new Set(snaps.map((s: any) => s.trigger))).toEqual(new Set(['schedule']));
    // A second sync of the schedule (as after a restart) finds the job and adds none.
    n1.plane.running.backup.syncSchedules();
    n2.plane.running.backup.syncSchedules(); // node 2 owns no source: it schedules nothing
    const pending = async () => [...(await listed('delayed')), ...(await listed('waiting'))];
    await until(async () => (await pending()).length > 0, 5_000, 'the next run');
    expect((await pending()).length).toBe(1);
    expect((await n1.op('backup.sources.update', { id: sourceId, schedule: null })).status).toBe(200);
    await until(async () => (await pending()).length === 0, 5_000, 'the schedule gone');
  });

  it('Redis restarted empty: the node that registered a repeating job registers it again, once, and a cancelled one stays gone', async () => {
    const [n1, n2] = [await node(), await node()];
    const [q1, q2] = [queueOf(n1), queueOf(n2)];
    const ticks: number[] = [];
    q1.register('test.tick', () => void ticks.push(Date.now()));
    const every = { cron: '* * * * * *' };
    await q1.enqueue({ type: 'test.tick', payload: null, repeat: every });
    const gone = await q1.enqueue({ type: 'test.gone', payload: null, repeat: every });
    await until(() => ticks.length >= 1, 5_000, 'the repeating job to run');
    await q1.cancel(gone.id);
    // (Each node also holds its own backup schedules, the app database's and its maintenance.)
    const tests = (q: BullmqJobQueue) => q.schedules.list().filter((s) => s.name.startsWith('test.'));
    expect(tests(q1).map((s) => s.name)).toEqual(['test.tick']);
    expect(tests(q2)).toEqual([]); // the schedule's owner is the node that registered it

    const tickQueue = new Queue('ph-test.tick', { connection: redis.client(), prefix: 'ph' });
    const goneQueue = new Queue('ph-test.gone', { connection: redis.client(), prefix: 'ph' });
    try {
      await redis.restart();
      await until(
        () => n1.events.some((e) => e.event === 'fleet.redis' && e.payload.kind === 'emptied'),
        10_000,
        'the emptied-redis event',
      );
      const afterLoss = Date.now();
      await until(() => ticks.some((t) => t > afterLoss), 10_000, 'the repeating job to run again after the loss');
      expect((await tickQueue.getRepeatableJobs()).map((r) => r.pattern)).toEqual([every.cron]);
      expect(await goneQueue.getRepeatableJobs()).toEqual([]);
    } finally {
      await tickQueue.close();
      await goneQueue.close();
    }
  });

  it('a job enqueued on a node is kept in its outbox until it ends, then forgotten', async () => {
    const n1 = await node();
    const q1 = queueOf(n1);
    const job = await q1.enqueue({ type: 'test.hold', payload: null });
    // (The node's own backup schedule, a repeating job it enqueued at start, is in the outbox too.)
    const held = () => q1.outbox.entries(100).some((e) => e.id === job.id);
    expect(held()).toBe(true);
    q1.register('test.hold', () => 'ok');
    await until(async () => (await q1.get(job.id)).state === 'completed', 5_000, 'the job');
    await until(() => !held(), 5_000, 'the outbox sweep');
  });
});
