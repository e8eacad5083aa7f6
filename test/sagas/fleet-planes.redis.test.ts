import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startNode, type JobsNode } from '../fleet/jobs-nodes';
import { waitFor } from './fixtures';

/**
 * The control plane's wiring of fleet sagas: three real planes on one private Redis, reached only
 * through their HTTP operations, as a LAN program or another node's console would.
 */
describe('saga operations on three control planes sharing one Redis', () => {
  let redis: TestRedis;
  const nodes: JobsNode[] = [];
  /** Which node ran each step: the saga runs once, on one of them. */
  const ranOn: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i += 1) nodes.push(await startNode(redis.url));
    for (const [i, node] of nodes.entries()) {
      node.plane.running.sagas.register({
        type: 'fleet.hello',
        description: 'Two steps that say where they ran',
        steps: [
          { name: 'one', action: () => void ranOn.push(`one@${i}`) },
          { name: 'two', action: () => void ranOn.push(`two@${i}`) },
        ],
      });
    }
  }, 120_000);
  afterAll(async () => {
    for (const node of nodes) await node.remove();
    await redis?.stop();
  }, 60_000);

  it('starts a saga on one node; the others get it, list it and see it end, and it ran once', async () => {
    const [a, b, c] = nodes as [JobsNode, JobsNode, JobsNode];
    const started = await a.op('sagas.start', { type: 'fleet.hello', input: { who: 'a' } });
    expect(started.status).toBe(200);
    const id = started.body.saga.id as string;
    for (const other of [b, c]) {
      const got = await other.op('sagas.get', { id });
      expect(got.status).toBe(200);
      expect(got.body.saga).toMatchObject({ id, type: 'fleet.hello', input: { who: 'a' } });
      const listed = await other.op('sagas.list', { type: 'fleet.hello' });
      expect(listed.body.sagas.map((s: { id: string }) => s.id)).toContain(id);
    }
    await waitFor(async () => (await c.op('sagas.get', { id })).body.saga.state === 'completed', 20_000, 'the saga to complete');
    expect((await b.op('sagas.get', { id })).body.saga.steps.map((s: { state: string }) => s.state)).toEqual(['done', 'done']);
    expect(ranOn).toHaveLength(2);
    expect(new Set(ranOn.map((r) => r.split('@')[1])).size).toBe(1);
  });

  it('answers PH_SAGA_NOT_FOUND on every node for an id no node started', async () => {
    for (const node of nodes) {
      const res = await node.op('sagas.get', { id: 'no-such-saga' });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('PH_SAGA_NOT_FOUND');
    }
  });
});
