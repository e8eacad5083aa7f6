import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { SqliteJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { Sagas, type Saga, type SagaType } from '../../main/sagas';
import { openSagaDb, waitFor } from './fixtures';

const silent = createLogger('silent');
const quick = { attempts: 2, backoffMs: 10 };

describe('sagas on the job queue', () => {
  let t: ReturnType<typeof openSagaDb>;
  let queue: SqliteJobQueue;
  let sagas: Sagas;
  let trail: string[];
  let seen: { step: string; id: string; attempt: number; results: Record<string, unknown> }[];
  const events: EventMessage[] = [];

  const ended = async (id: string): Promise<Saga> => {
    await waitFor(
      async () => ['completed', 'compensated', 'cancelled', 'stuck'].includes((await sagas.get(id)).state),
      10_000,
      `saga ${id} to end`,
    );
    return sagas.get(id);
  };

  /** Three steps; `failAt` names a step whose action always fails, `undoFails` one whose compensation fails `times` times. */
  const provision = (failAt: string | null, undoFails: { step: string; times: number } | null = null): SagaType<{ name: string }> => {
    const undoTries = new Map<string, number>();
    const step = (name: string) => ({
      name,
      retry: quick,
      compensationRetry: { attempts: 3, backoffMs: 10 },
      action: (ctx: { idempotencyId: string; attempt: number; results: Readonly<Record<string, unknown>>; input: { name: string } }) => {
        seen.push({ step: name, id: ctx.idempotencyId, attempt: ctx.attempt, results: { ...ctx.results } });
        trail.push(name);
        if (name === failAt) throw new Error(`${name} refused`);
        return `${name}:${ctx.input.name}`;
      },
      compensate: (_ctx: unknown, result: unknown) => {
        const tries = (undoTries.get(name) ?? 0) + 1;
        undoTries.set(name, tries);
        if (undoFails?.step === name && tries <= undoFails.times) throw new Error(`cannot undo ${name} yet`);
        trail.push(`undo ${String(result)}`);
      },
    });
    return {
      type: `provision-${failAt ?? 'ok'}-${undoFails?.times ?? 0}`,
      description: 'test',
      steps: [step('ip'), step('vm'), step('dns')],
    };
  };

  beforeEach(async () => {
    t = openSagaDb();
    trail = [];
    seen = [];
    events.length = 0;
    const bus = new EventBus();
    bus.subscribe((m) => events.push(m));
    queue = new SqliteJobQueue(t.db, systemClock, silent, bus, { pollMs: 20 });
    sagas = new Sagas({ db: t.db, clock: systemClock, queue, bus, logger: silent });
  });
  afterEach(async () => {
    await queue.stop();
    t.close();
  });

  it('runs the steps in order, each with its own idempotency id and the results of the steps before it', async () => {
    sagas.register(provision(null));
    await queue.start();
    const started = await sagas.start({ type: 'provision-ok-0', input: { name: 'web' } });
    const saga = await ended(started.id);
    expect(saga.state).toBe('completed');
    expect(trail).toEqual(['ip', 'vm', 'dns']);
    expect(seen.map((s) => s.id)).toEqual([`${saga.id}:ip:action`, `${saga.id}:vm:action`, `${saga.id}:dns:action`]);
    expect(seen[2]?.results).toEqual({ ip: 'ip:web', vm: 'vm:web' });
    expect(saga.steps.map((s) => [s.name, s.state, s.attempts])).toEqual([
      ['ip', 'done', 1],
      ['vm', 'done', 1],
      ['dns', 'done', 1],
    ]);
    expect(events.filter((e) => e.event === 'sagas.changed').map((e) => e.payload.state)).toContain('completed');
  });

  it('retries a failing step per its policy, then compensates the completed steps newest first', async () => {
    sagas.register(provision('dns'));
    await queue.start();
    const saga = await ended((await sagas.start({ type: 'provision-dns-0', input: { name: 'web' } })).id);
    expect(saga.state).toBe('compensated');
    expect(saga.failure).toBe('dns: dns refused');
    expect(trail).toEqual(['ip', 'vm', 'dns', 'dns', 'undo vm:web', 'undo ip:web']);
    const dns = saga.steps[2];
    expect(dns).toMatchObject({ state: 'failed', attempts: 2, compensationAttempts: 0 });
    expect(dns?.errors.map((e) => [e.phase, e.message])).toEqual([
      ['action', 'dns refused'],
      ['action', 'dns refused'],
    ]);
    expect(saga.steps.slice(0, 2).map((s) => [s.state, s.compensationAttempts])).toEqual([
      ['compensated', 1],
      ['compensated', 1],
    ]);
  });

  it('retries a compensation until it succeeds', async () => {
    sagas.register(provision('dns', { step: 'vm', times: 2 }));
    await queue.start();
    const saga = await ended((await sagas.start({ type: 'provision-dns-2', input: { name: 'web' } })).id);
    expect(saga.state).toBe('compensated');
    expect(saga.steps[1]).toMatchObject({ state: 'compensated', compensationAttempts: 3 });
    expect(saga.steps[1]?.errors.filter((e) => e.phase === 'compensation')).toHaveLength(2);
    expect(trail.slice(-2)).toEqual(['undo vm:web', 'undo ip:web']);
  });

  it('marks a compensation that keeps failing stuck, stops there and raises a critical alert', async () => {
    sagas.register(provision('dns', { step: 'vm', times: 99 }));
    await queue.start();
    const saga = await ended((await sagas.start({ type: 'provision-dns-99', input: { name: 'web' } })).id);
    expect(saga.state).toBe('stuck');
    expect(saga.steps.map((s) => s.state)).toEqual(['done', 'stuck', 'failed']);
    expect(saga.steps[1]?.compensationAttempts).toBe(3);
    const alert = events.find((e) => e.event === 'monitoring.alert');
    expect(alert?.payload).toMatchObject({ ruleId: `saga-stuck:${saga.id}`, severity: 'critical', state: 'firing' });
    expect(trail).not.toContain('undo ip:web');
  });

  it('counts a try that runs past its timeout as failed', async () => {
    sagas.register({
      type: 'slow',
      description: 'test',
      steps: [
        { name: 'first', action: () => 'ok', compensate: () => void trail.push('undo first') },
        { name: 'hangs', retry: quick, timeoutMs: 250, action: () => new Promise(() => undefined) },
      ],
    });
    await queue.start();
    const saga = await ended((await sagas.start({ type: 'slow' })).id);
    expect(saga.state).toBe('compensated');
    expect(saga.steps[1]?.errors.map((e) => e.message)).toEqual(['The step timed out after 250 ms', 'The step timed out after 250 ms']);
    expect(trail).toEqual(['undo first']);
  });

  it('stops a cancelled saga before its next step and compensates what it completed', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    sagas.register({
      type: 'gated',
      description: 'test',
      steps: [
        { name: 'a', action: () => 'a', compensate: () => void trail.push('undo a') },
        { name: 'b', action: () => gate.then(() => 'b'), compensate: () => void trail.push('undo b') },
        { name: 'c', action: () => void trail.push('c ran') },
      ],
    });
    await queue.start();
    const { id } = await sagas.start({ type: 'gated' });
    await waitFor(async () => (await sagas.get(id)).steps[1]?.state === 'running', 5_000, 'step b to start');
    expect((await sagas.cancel(id, 'key:ops')).cancelRequested).toBe(true);
    release();
    const saga = await ended(id);
    expect(saga.state).toBe('cancelled');
    expect(saga.failure).toBe('cancelled by key:ops');
    expect(trail).toEqual(['undo b', 'undo a']);
    await expect(sagas.cancel(id, 'key:ops')).rejects.toMatchObject({ code: 'PH_SAGA_ENDED' });
  });

  it('refuses an unknown type and returns the first saga for a repeated idempotency key', async () => {
    sagas.register(provision(null));
    await expect(sagas.start({ type: 'nope' })).rejects.toMatchObject({ code: 'PH_SAGA_UNKNOWN_TYPE' });
    const first = await sagas.start({ type: 'provision-ok-0', input: { name: 'a' }, idempotencyKey: 'order-7' });
    const again = await sagas.start({ type: 'provision-ok-0', input: { name: 'a' }, idempotencyKey: 'order-7' });
    expect(again.id).toBe(first.id);
    expect((await sagas.list({})).total).toBe(1);
    await expect(sagas.get('missing')).rejects.toMatchObject({ code: 'PH_SAGA_NOT_FOUND' });
  });
});
