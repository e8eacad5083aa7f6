import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobQueue, type ChildPolicy, type JobInfo } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { openTestDb, silent, waitFor } from './fixtures';

const ended = (j: JobInfo) => j.state === 'completed' || j.state === 'dead' || j.state === 'cancelled';

describe('parent and child jobs', () => {
  let t: ReturnType<typeof openTestDb>;
  let q: SqliteJobQueue;
  let parentSaw: JobInfo[][];

  beforeEach(async () => {
    t = openTestDb();
    q = new SqliteJobQueue(t.db, systemClock, silent, null, { pollMs: 20 });
    parentSaw = [];
    q.register('parent', async (_p, ctx) => {
      parentSaw.push(await ctx.children());
      return 'parent done';
    });
    q.register('child', async (payload) => {
      const p = payload as { fail?: boolean; ms?: number };
      if (p.ms !== undefined) await new Promise((r) => setTimeout(r, p.ms));
      if (p.fail === true) throw new Error('child broke');
      return 'child ok';
    });
    await q.start();
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });

  it('a parent waits for its children, then runs and sees their results', async () => {
    const parent = await q.enqueue({
      type: 'parent',
      children: [
        { type: 'child', payload: { ms: 50 } },
        { type: 'child', payload: {} },
      ],
    });
    expect(parent.state).toBe('waiting-children');
    expect(parent.pendingChildren).toBe(2);
    await waitFor(async () => (await q.get(parent.id)).state === 'completed');
    expect(parentSaw[0]?.map((c) => [c.state, c.result])).toEqual([
      ['completed', 'child ok'],
      ['completed', 'child ok'],
    ]);
  });

  it('a parent whose child fails never stays waiting: fail-parent fails it and cancels the siblings still to run', async () => {
    const parent = await q.enqueue({
      type: 'parent',
      children: [
        { type: 'child', payload: { fail: true }, attempts: 1 },
        { type: 'child', payload: {}, delayMs: 60_000 },
      ],
    });
    await waitFor(async () => (await q.get(parent.id)).state === 'dead');
    const dead = await q.get(parent.id);
    expect(dead.lastError).toMatch(/^child \d+ failed: child broke$/);
    const children = (await q.list({ parentId: parent.id })).jobs;
    expect(children.map((c) => c.state).sort()).toEqual(['cancelled', 'dead']);
    expect(parentSaw).toEqual([]);
  });

  it('with the ignore policy the parent runs once the other children are done', async () => {
    const parent = await q.enqueue({
      type: 'parent',
      children: [
        { type: 'child', payload: { fail: true }, attempts: 1, policy: 'ignore' },
        { type: 'child', payload: { ms: 100 } },
      ],
    });
    await waitFor(async () => (await q.get(parent.id)).state === 'completed');
    expect(parentSaw[0]?.map((c) => c.state).sort()).toEqual(['completed', 'dead']);
  });

  it('with the continue-parent policy the parent starts as soon as the child fails', async () => {
    const parent = await q.enqueue({
      type: 'parent',
      children: [
        { type: 'child', payload: { fail: true }, attempts: 1, policy: 'continue-parent' },
        { type: 'child', payload: {}, delayMs: 60_000 },
      ],
    });
    await waitFor(async () => (await q.get(parent.id)).state === 'completed');
    expect(parentSaw[0]?.map((c) => c.state).sort()).toEqual(['dead', 'delayed']);
  });

  it('cancelling or deleting a child moves the parent on by its policy', async () => {
    const a = await q.enqueue({ type: 'parent', children: [{ type: 'child', delayMs: 60_000 }] });
    const b = await q.enqueue({ type: 'parent', children: [{ type: 'child', delayMs: 60_000, policy: 'ignore' }] });
    const childA = (await q.list({ parentId: a.id })).jobs[0] as JobInfo;
    const childB = (await q.list({ parentId: b.id })).jobs[0] as JobInfo;
    await q.cancel(childA.id);
    await q.remove(childB.id);
    await waitFor(async () => (await q.get(a.id)).state === 'dead' && (await q.get(b.id)).state === 'completed');
  });

  it('cancelling a parent cancels its children, running ones through their signal', async () => {
    let aborted = false;
    q.register(
      'hang',
      (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => ((aborted = true), reject(ctx.signal.reason)))),
    );
    const parent = await q.enqueue({ type: 'parent', children: [{ type: 'hang' }, { type: 'child', delayMs: 60_000 }] });
    await waitFor(async () => (await q.list({ parentId: parent.id, state: 'active' })).total === 1);
    await q.cancel(parent.id);
    await waitFor(() => aborted, 1_000);
    await waitFor(async () => (await q.list({ parentId: parent.id })).jobs.every((c) => c.state === 'cancelled'));
    expect((await q.get(parent.id)).state).toBe('cancelled');
  });

  it('nested flows: a failing grandchild fails its parent and then the grandparent', async () => {
    const top = await q.enqueue({
      type: 'parent',
      children: [{ type: 'parent', children: [{ type: 'child', payload: { fail: true }, attempts: 1 }] } as never],
    });
    await waitFor(async () => (await q.get(top.id)).state === 'dead');
    expect((await q.get(top.id)).lastError).toMatch(/child \d+ failed: child \d+ failed: child broke/);
  });

  it('no parent stays waiting, whatever its children do, under every policy', async () => {
    const policies: ChildPolicy[] = ['fail-parent', 'ignore', 'continue-parent'];
    const parents: string[] = [];
    for (const p1 of policies) {
      for (const p2 of policies) {
        for (const outcome of ['ok', 'fail', 'cancel'] as const) {
          const parent = await q.enqueue({
            type: 'parent',
            children: [
              { type: 'child', payload: { fail: outcome === 'fail', ms: 5 }, attempts: 1, policy: p1 },
              { type: 'child', payload: {}, delayMs: outcome === 'cancel' ? 60_000 : 0, policy: p2 },
            ],
          });
          parents.push(parent.id);
          if (outcome === 'cancel') {
            const late = (await q.list({ parentId: parent.id, state: 'delayed' })).jobs[0] as JobInfo;
            await q.cancel(late.id);
          }
        }
      }
    }
    await waitFor(
      async () => {
        for (const id of parents) if (!ended(await q.get(id))) return false;
        return true;
      },
      10_000,
      'every parent to end',
    );
    expect(parents).toHaveLength(27);
  });

  it('repairs a parent left waiting with no child still to run (rows from before a crash)', async () => {
    const parent = await q.enqueue({ type: 'parent', children: [{ type: 'child', delayMs: 60_000 }] });
    // A child removed behind the queue's back (as a crash or a manual delete could leave it).
    t.db.prepare('DELETE FROM jobs WHERE parent_id = ?').run(Number(parent.id));
    expect((await q.get(parent.id)).state).toBe('waiting-children');
    await q.stop();
    q = new SqliteJobQueue(t.db, systemClock, silent, null, { pollMs: 20 });
    q.register('parent', () => 'repaired');
    await q.start();
    await waitFor(async () => (await q.get(parent.id)).state === 'completed');
  });
  it("lists several parents' children in one read, the newest `limit` of each", async () => {
    const a = await q.enqueue({ type: 'parent', children: [0, 1, 2].map((n) => ({ type: 'child', payload: { n }, delayMs: 60_000 })) });
    const b = await q.enqueue({ type: 'parent', children: [{ type: 'child', payload: { n: 9 }, delayMs: 60_000 }] });
    const { jobs, total } = await q.list({ parentIds: [a.id, b.id, '999999'], limit: 2 });
    expect(total).toBe(4);
    expect(jobs.filter((j) => j.parentId === a.id).map((j) => (j.payload as { n: number }).n)).toEqual([2, 1]);
    expect(jobs.filter((j) => j.parentId === b.id)).toHaveLength(1);
  });
});
