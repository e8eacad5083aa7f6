import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../main/core';
import { shiftTrafficSaga } from '../../main/sagas';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { waitFor } from './fixtures';

describe('the built-in saga services.shift-traffic, against the real registry', () => {
  let t: TestPlane;

  const register = (id: string, name: string) =>
    t.op('services.register', { name, id, address: '127.0.0.1', port: 1, checks: [{ kind: 'ttl', ttlMs: 60_000 }] });
  const passing = (id: string) => t.op('services.heartbeat', { id });
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
      shiftTrafficSaga((name, input) => dispatcher.call(name, input, systemCaller) as Promise<never>, {
        type: 'test.shift-traffic',
        checkRetry: { attempts: 2, backoffMs: 100 },
      }),
    );
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('drains the old instances once the new ones pass', async () => {
    for (const id of ['web-old', 'web-new']) await register(id, 'web');
    for (const id of ['web-old', 'web-new']) await passing(id);
    const { body } = await t.op('sagas.start', { type: 'services.shift-traffic', input: { service: 'web', newInstanceIds: ['web-new'] } });
    const saga = await ended(body.saga.id);
    expect(saga.state).toBe('completed');
    expect(await maintenance('web-old')).toMatchObject({ reason: `saga ${saga.id}: traffic moved to new instances` });
    expect(await maintenance('web-new')).toBeNull();
    expect((await t.op('services.pick', { name: 'web' })).body.instance.id).toBe('web-new');
  });

  it('puts the old instances back when the new ones fail their checks: the rollback', async () => {
    for (const id of ['api-old', 'api-new']) await register(id, 'api');
    await passing('api-old');
    const { body } = await t.op('sagas.start', { type: 'test.shift-traffic', input: { service: 'api', newInstanceIds: ['api-new'] } });
    const saga = await ended(body.saga.id);
    expect(saga.state).toBe('compensated');
    expect(saga.failure).toBe('check-new: new instance api-new is critical');
    expect(saga.steps.map((s: { state: string }) => s.state)).toEqual(['compensated', 'failed']);
    expect(await maintenance('api-old')).toBeNull();
    const audit = await t.op('audit.list', { limit: 50 });
    const moves = audit.body.entries.filter(
      (e: { action: string; target: string }) => e.action === 'services.maintenance' && e.target === 'api-old',
    );
    expect(moves).toHaveLength(2);
  });

  it('refuses an input the saga cannot use, naming the field', async () => {
    const res = await t.op('sagas.start', { type: 'services.shift-traffic', input: { service: 'web' } });
    expect(res.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'input' });
  });
});
