import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { waitFor } from './fixtures';

describe('sagas through the one door: REST, GraphQL and the operations', () => {
  let t: TestPlane;
  let operatorKey: string;
  let viewerKey: string;
  const undone: string[] = [];

  const rest = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    t = await startTestPlane();
    operatorKey = (await t.op('keys.create', { name: 'ops', role: 'operator' })).body.secret;
    viewerKey = (await t.op('keys.create', { name: 'look', role: 'viewer' })).body.secret;
    t.plane.running.sagas.register<{ fail: boolean }>({
      type: 'test.order',
      description: 'Reserve stock, then charge (fails when asked)',
      steps: [
        { name: 'reserve', action: () => 'r-1', compensate: (_ctx, r) => void undone.push(`release ${String(r)}`) },
        {
          name: 'charge',
          retry: { attempts: 1, backoffMs: 10 },
          action: (ctx) => {
            if (ctx.input.fail) throw new Error('card declined');
            return 'c-1';
          },
        },
      ],
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('starts a saga over REST (201), follows it to completed and reads it over GraphQL', async () => {
    const started = await rest('POST', '/api/v2/sagas', operatorKey, { type: 'test.order', input: { fail: false } });
    expect(started.status).toBe(201);
    const id = started.body.saga.id as string;
    await waitFor(async () => (await rest('GET', `/api/sagas/${id}`, viewerKey)).body.saga.state === 'completed', 10_000, 'completed');
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewerKey}` },
      body: JSON.stringify({ query: `{ sagas { get(id: "${id}") { saga { state steps { name state attempts idempotencyId } } } } }` }),
    });
    const { data } = (await res.json()) as any;
    expect(data.sagas.get.saga.state).toBe('COMPLETED');
    expect(data.sagas.get.saga.steps.map((s: { name: string; state: string }) => `${s.name}:${s.state}`)).toEqual([
      'reserve:DONE',
      'charge:DONE',
    ]);
    const list = await rest('GET', '/api/v2/sagas?state=completed', viewerKey);
    expect(list.body.sagas.map((s: { id: string }) => s.id)).toContain(id);
    expect(list.body.types).toContainEqual({
      type: 'test.order',
      description: expect.any(String),
      steps: ['reserve', 'charge'],
      startRole: 'operator',
    });
  });

  it('compensates a failed saga and audits who started it; a viewer may read but not start or cancel', async () => {
    const { body } = await t.op('sagas.start', { type: 'test.order', input: { fail: true } }, operatorKey);
    const id = body.saga.id as string;
    await waitFor(async () => (await t.op('sagas.get', { id })).body.saga.state === 'compensated', 10_000, 'compensated');
    expect(undone).toContain('release r-1');
    expect((await t.op('sagas.get', { id })).body.saga.steps[1].errors[0].message).toBe('card declined');
    expect((await rest('POST', '/api/v2/sagas', viewerKey, { type: 'test.order' })).body.error.code).toBe('PH_FORBIDDEN');
    expect((await rest('POST', `/api/v2/sagas/${id}/cancel`, operatorKey)).body.error.code).toBe('PH_SAGA_ENDED');
    expect((await rest('GET', '/api/v2/sagas/nope', viewerKey)).body.error.code).toBe('PH_SAGA_NOT_FOUND');
    expect((await rest('POST', '/api/v2/sagas', operatorKey, { type: 'nope' })).body.error.code).toBe('PH_SAGA_UNKNOWN_TYPE');
    const audit = await t.op('audit.list', { limit: 20 });
    expect(
      audit.body.entries.some((e: { action: string; actor: string }) => e.action === 'sagas.start' && e.actor.startsWith('key:')),
    ).toBe(true);
  });
});
