import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Saga } from '../../main/sagas';
import { openStore } from '../../main/store';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';
import { CRASH_TABLES } from './crash-saga';
import { waitFor } from './fixtures';
import type { NodeReply, NodeRequest } from './fleet-node';
import { bundleScript, killHard, startProcess, type Child } from './processes';

interface FleetNode extends Child {
  readonly name: string;
  ask(op: NodeRequest['op'], input?: unknown): Promise<any>;
}

const ENDED = ['completed', 'compensated', 'cancelled', 'stuck'];

/**
 * Three node processes on one private Redis run `crash.saga` (test/sagas/crash-saga.ts: three
 * steps that succeed, a fourth that fails, so the three are compensated). Each action and
 * compensation takes 400 ms and records its call (with the process id) and, by its idempotency id,
 * its effect in a SQLite file every node writes: the window the test kills or empties Redis in.
 */
describe('sagas on a fleet of three nodes sharing one Redis', () => {
  let redis: TestRedis;
  let script: { file: string; remove: () => void };
  const dirs: { path: string; remove: () => void }[] = [];
  const nodes: FleetNode[] = [];
  let effects: Database;

  const calls = (saga: string, phase: string, step: string): { pid: number }[] =>
    effects.prepare('SELECT pid FROM saga_calls WHERE saga = ? AND phase = ? AND step = ? ORDER BY rowid').all(saga, phase, step) as {
      pid: number;
    }[];
  const undone = (saga: string): string[] =>
    (
      effects
        .prepare("SELECT step FROM saga_effects WHERE phase = 'compensation' AND idempotency_id LIKE ? ORDER BY rowid")
        .all(`${saga}:%`) as { step: string }[]
    ).map((r) => r.step);
  const effectIds = (saga: string): string[] =>
    (
      effects.prepare('SELECT idempotency_id FROM saga_effects WHERE idempotency_id LIKE ? ORDER BY rowid').all(`${saga}:%`) as {
        idempotency_id: string;
      }[]
    ).map((r) => r.idempotency_id);
  const byPid = (pid: number): FleetNode => {
    const node = nodes.find((n) => n.child.pid === pid);
    if (node === undefined) throw new Error(`no node has pid ${pid}`);
    return node;
  };
  const alive = (): FleetNode[] => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const ended = async (id: string, via: () => FleetNode): Promise<Saga> => {
    await waitFor(async () => ENDED.includes((await via().ask('get', id)).state), 45_000, `saga ${id} to end`);
    return via().ask('get', id);
  };

  async function launch(name: string): Promise<FleetNode> {
    const dir = tempDir(`ph-saga-${name}-`);
    dirs.push(dir);
    const child = await startProcess(script.file, [dir.path, redis.url, name, join(dirs[0]!.path, 'effects.db')]);
    let seq = 0;
    const waiting = new Map<number, (reply: NodeReply) => void>();
    child.child.on('message', (m: NodeReply) => waiting.get(m.seq)?.(m));
    return {
      ...child,
      name,
      ask: (op, input) =>
        new Promise((done, fail) => {
          seq += 1;
          const mine = seq;
          waiting.set(mine, (reply) => {
            waiting.delete(mine);
            if (reply.ok) done(reply.value);
            else fail(Object.assign(new Error(reply.message), { code: reply.code }));
          });
          child.child.send({ seq: mine, op, input } satisfies NodeRequest);
        }),
    };
  }

  beforeAll(async () => {
    redis = await startRedis();
    const shared = tempDir('ph-saga-effects-');
    dirs.push(shared);
    effects = openStore({ path: join(shared.path, 'effects.db'), migrations: [] });
    effects.exec(CRASH_TABLES);
    script = bundleScript('fleet-node.ts');
    for (const name of ['node-a', 'node-b', 'node-c']) nodes.push(await launch(name));
  }, 120_000);
  afterAll(async () => {
    for (const n of nodes) {
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM');
      await n.exited;
    }
    effects?.close();
    await redis?.stop();
    script?.remove();
    for (const d of dirs) d.remove();
  }, 60_000);

  it('a saga started on one node is seen by get and list on the other two, and runs once in all', async () => {
    const [a, b, c] = nodes as [FleetNode, FleetNode, FleetNode];
    const started: Saga = await a.ask('start', { type: 'crash.saga' });
    for (const other of [b, c]) {
      const seen: Saga = await other.ask('get', started.id);
      expect(seen).toMatchObject({ id: started.id, type: 'crash.saga', jobId: started.jobId });
      expect(seen.steps.map((s) => s.name)).toEqual(['one', 'two', 'three', 'four']);
      const listed = await other.ask('list');
      expect(listed.sagas.map((s: Saga) => s.id)).toContain(started.id);
    }
    const saga = await ended(started.id, () => c);
    expect(saga.state).toBe('compensated');
    for (const other of [a, b]) expect((await other.ask('get', started.id)).state).toBe('compensated');
    // One run: every step and compensation called once, all by the one node that took the job.
    const all = ['one', 'two', 'three'].flatMap((s) => [...calls(started.id, 'action', s), ...calls(started.id, 'compensation', s)]);
    expect(all).toHaveLength(6);
    expect(new Set(all.map((x) => x.pid)).size).toBe(1);
    expect(undone(started.id)).toEqual(['three', 'two', 'one']);
  }, 60_000);

  it('a saga document written into Redis without the fleet secret is neither read nor listed', async () => {
    const [, b] = nodes as [FleetNode, FleetNode];
    const forged = {
      id: 'forged-1',
      rev: 9,
      type: 'crash.saga',
      state: 'completed',
      failure: null,
      cancelRequested: false,
      idempotencyKey: null,
      jobId: null,
      createdAt: Date.now(),
      updatedAt: Date.now(),
      finishedAt: Date.now(),
      steps: [],
    };
    const client = redis.client();
    await client.hset('ph:saga:forged-1', 'rev', '9', 'doc', `ph1|node-a|${Date.now()}|${'A'.repeat(43)}|${JSON.stringify(forged)}`);
    await client.zadd('ph:sagas:index', Date.now(), 'forged-1');
    await expect(b.ask('get', 'forged-1')).rejects.toMatchObject({ code: 'PH_SAGA_NOT_FOUND' });
    expect(((await b.ask('list')).sagas as Saga[]).map((s) => s.id)).not.toContain('forged-1');
  });

  it('a saga whose Redis is emptied mid-step ends compensated, every effect once, and is listed again on every node', async () => {
    const [a] = nodes as [FleetNode];
    const started: Saga = await a.ask('start', { type: 'crash.saga' });
    await waitFor(() => calls(started.id, 'action', 'two').length === 1, 20_000, 'step two to start');
    await redis.client().flushall();
    const saga = await ended(started.id, () => a);
    expect(saga.state).toBe('compensated');
    expect(saga.steps.map((s) => s.state)).toEqual(['compensated', 'compensated', 'compensated', 'failed']);
    expect(undone(started.id)).toEqual(['three', 'two', 'one']);
    expect(effectIds(started.id)).toHaveLength(6);
    for (const node of nodes) {
      await waitFor(
        async () => ((await node.ask('list')).sagas as Saga[]).some((s) => s.id === started.id && s.state === 'compensated'),
        10_000,
        `${node.name} to list the saga again`,
      );
    }
  }, 60_000);

  it('killed (-9) mid-step and then mid-compensation: other nodes finish it, every completed step compensated once', async () => {
    const [a] = nodes as [FleetNode];
    const started: Saga = await a.ask('start', { type: 'crash.saga' });

    await waitFor(() => calls(started.id, 'action', 'two').length === 1, 20_000, 'step two to start');
    const first = byPid((calls(started.id, 'action', 'two')[0] as { pid: number }).pid);
    await killHard(first);

    await waitFor(() => calls(started.id, 'compensation', 'two').length === 1, 30_000, 'the compensation of step two to start');
    const second = byPid((calls(started.id, 'compensation', 'two')[0] as { pid: number }).pid);
    expect(second).not.toBe(first);
    await killHard(second);

    const [last] = alive() as [FleetNode];
    expect(alive()).toHaveLength(1);
    const saga = await ended(started.id, () => last);
    expect(saga.state).toBe('compensated');
    expect(saga.failure).toBe('four: four always fails');
    expect(saga.steps.map((s) => s.state)).toEqual(['compensated', 'compensated', 'compensated', 'failed']);
    // Each completed step compensated once, newest first, with the id it received.
    expect(undone(started.id)).toEqual(['three', 'two', 'one']);
    expect(effectIds(started.id).filter((e) => e.startsWith(`${started.id}:two:`))).toEqual([
      `${started.id}:two:action`,
      `${started.id}:two:compensation`,
    ]);
    // Only what a kill cut short ran again, each time on another node.
    const count = (phase: string, steps: string[]) => steps.map((s) => calls(started.id, phase, s).length);
    expect(count('action', ['one', 'two', 'three', 'four'])).toEqual([1, 2, 1, 1]);
    expect(count('compensation', ['one', 'two', 'three'])).toEqual([1, 2, 1]);
    expect(calls(started.id, 'action', 'two').map((c) => c.pid)).toEqual([first.child.pid, second.child.pid]);
    expect(calls(started.id, 'compensation', 'two').map((c) => c.pid)).toEqual([second.child.pid, last.child.pid]);
    expect(saga.steps[1]).toMatchObject({ attempts: 2, compensationAttempts: 2 });
  }, 120_000);
});
