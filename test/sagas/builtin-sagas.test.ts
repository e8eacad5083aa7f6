import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sagaCaller } from '../../main/core';
import { shiftTrafficSaga } from '../../main/sagas';
import { upstream, type Upstream } from '../discovery/helpers';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { waitFor } from './fixtures';

describe('the built-in saga services.shift-traffic, against the real registry, HTTP instances and their checks', () => {
  let t: TestPlane;
  const upstreams = new Map<string, Upstream>();

  /** A real HTTP server on 127.0.0.1 as the instance, with a real HTTP check of its /health. */
  const register = async (id: string, name: string) => {
    const up = await upstream(id);
    upstreams.set(id, up);
    return t.op('services.register', {
      name,
      id,
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', intervalMs: 50, timeoutMs: 1_000 }],
    });
  };
  const state = async (id: string) => (await t.op('services.get', { id })).body.instance.state;
  /** Which instance the gateway sends a request for the service to (each upstream names itself). */
  const served = async (service: string) => {
    const res = await fetch(`${t.url}/gw/${service}/`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    return res.headers.get('x-upstream');
  };
  const maintenance = async (id: string) => (await t.op('services.get', { id })).body.instance.maintenance;
  const ended = async (id: string) => {
    await waitFor(
      async () => ['completed', 'compensated', 'stuck'].includes((await t.op('sagas.get', { id })).body.saga.state),
      15_000,
      'the saga to end',
    );
    return (await t.op('sagas.get', { id })).body.saga;
  };

  beforeAll(async () => {
    t = await startTestPlane();
    // The same saga with quick check retries, so the failing case ends in a second.
    const dispatcher = t.plane.running.dispatcher;
    t.plane.running.sagas.register(
      shiftTrafficSaga((name, input, by) => dispatcher.call(name, input, sagaCaller(by?.sagaId)) as Promise<never>, {
        type: 'test.shift-traffic',
        checkRetry: { attempts: 2, backoffMs: 100 },
      }),
    );
  });
  afterAll(async () => {
    await t?.stop();
    for (const up of upstreams.values()) await up.close();
  });

  it('drains the old instances once the new ones pass their HTTP checks', async () => {
    for (const id of ['web-old', 'web-new']) await register(id, 'web');
    await waitFor(async () => (await state('web-old')) === 'passing', 10_000, 'the old instance to pass its check');
    const { body } = await t.op('sagas.start', { type: 'services.shift-traffic', input: { service: 'web', newInstanceIds: ['web-new'] } });
    const saga = await ended(body.saga.id);
    expect(saga.state).toBe('completed');
    expect(await maintenance('web-old')).toMatchObject({ reason: `saga ${saga.id}: traffic moved to new instances` });
    expect(await maintenance('web-new')).toBeNull();
    expect((await t.op('services.pick', { name: 'web' })).body.instance.id).toBe('web-new');
    expect(await served('web')).toBe('web-new');
  });

  it('puts the old instances back when the new ones fail their HTTP checks: the rollback', async () => {
    for (const id of ['api-old', 'api-new']) await register(id, 'api');
    (upstreams.get('api-new') as Upstream).status = 503;
    await waitFor(async () => (await state('api-old')) === 'passing', 10_000, 'the old instance to pass its check');
    await waitFor(async () => (await state('api-new')) === 'critical', 10_000, 'the new instance to fail its check');
    const { body } = await t.op('sagas.start', { type: 'test.shift-traffic', input: { service: 'api', newInstanceIds: ['api-new'] } });
    const saga = await ended(body.saga.id);
    expect(saga.state).toBe('compensated');
    expect(saga.failure).toBe('check-new: new instance api-new is critical');
    expect(saga.steps.map((s: { state: string }) => s.state)).toEqual(['compensated', 'failed']);
    expect(await maintenance('api-old')).toBeNull();
    expect(await served('api')).toBe('api-old');
    const audit = await t.op('audit.list', { limit: 50 });
    const moves = audit.body.entries.filter(
      (e: { action: string; target: string }) => e.action === 'services.maintenance' && e.target === 'api-old',
    );
    expect(moves).toHaveLength(2);
    // The trail links them: each move names the saga it was made for, and the start names the key and the saga.
    expect(moves.map((e: { actor: string }) => e.actor)).toEqual([`saga:${body.saga.id}`, `saga:${body.saga.id}`]);
    const started = audit.body.entries.find(
      (e: { action: string; target: string }) => e.action === 'sagas.start' && e.target === body.saga.id,
    );
    expect(started?.actor).toMatch(/^key:/);
  });

  it('refuses an input the saga cannot use, naming the field', async () => {
    const res = await t.op('sagas.start', { type: 'services.shift-traffic', input: { service: 'web' } });
    expect(res.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'input' });
  });

  it('refuses new instances the service does not have at start, draining nothing', async () => {
    const before = (await t.op('sagas.list', {})).body.total as number;
    const res = await t.op('sagas.start', { type: 'services.shift-traffic', input: { service: 'web', newInstanceIds: ['web-typo'] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'PH_INVALID_INPUT',
      field: 'input.newInstanceIds',
      message: 'web has no instance web-typo',
    });
    expect((await t.op('sagas.list', {})).body.total).toBe(before);
  });

  it("refuses to cancel or delete a running saga's job by hand, which would strand the saga with its service drained", async () => {
    for (const id of ['pay-old', 'pay-new']) await register(id, 'pay');
    (upstreams.get('pay-new') as Upstream).status = 503;
    await waitFor(async () => (await state('pay-old')) === 'passing', 10_000, 'the old instance to pass its check');
    const { body } = await t.op('sagas.start', { type: 'services.shift-traffic', input: { service: 'pay', newInstanceIds: ['pay-new'] } });
    const jobId = body.saga.jobId as string;
    for (const name of ['jobs.cancel', 'jobs.delete']) {
      const refused = await t.op(name, { id: jobId });
      expect(refused.status, name).toBe(403);
      expect(refused.body.error, name).toMatchObject({ code: 'PH_FORBIDDEN', field: 'id' });
      expect(refused.body.error.message, name).toContain('sagas.cancel');
    }
    // Its owner cancels it (the step in flight keeps its tries, then the old instance is put back).
    const cancelled = await t.op('sagas.cancel', { id: body.saga.id });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.saga.state).toBe('running');
  });
});
