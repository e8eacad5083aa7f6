import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertEngine, silencedWhenSent } from '../../main/monitoring';
import { toWebhookEvent } from '../../main/webhooks/event-source';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { alertEngines, lagRule } from './alert-fixture';

const rule = lagRule(0);

describe('alert levers in the engine', () => {
  const engines = alertEngines();
  const setup = () => {
    const made = engines();
    made.engine.save(rule);
    return made;
  };

  it('says no-data for a rule whose series has no value, instead of inactive', () => {
    const { engine } = setup();
    engine.evaluate({ 'other.series': 3 });
    expect(engine.status().find((s) => s.ruleId === 'lag')).toMatchObject({ state: 'no-data', value: null });
    engine.evaluate({ 'test.value': 10 });
    expect(engine.status().find((s) => s.ruleId === 'lag')).toMatchObject({ state: 'inactive', value: 10 });
  });

  it('acknowledges the alert firing now; a later firing of the same rule is not acknowledged', () => {
    const { engine, clock } = setup();
    engine.evaluate({ 'test.value': 300 });
    clock.advance(1_000);
    engine.acknowledge('lag', 'key:op1');
    expect(engine.active()[0]).toMatchObject({ state: 'firing', acknowledgedBy: 'key:op1' });
    expect(engine.status().find((s) => s.ruleId === 'lag')?.acknowledged).toBe(true);
    clock.advance(1_000);
    engine.evaluate({ 'test.value': 10 });
    clock.advance(1_000);
    engine.evaluate({ 'test.value': 300 });
    expect(engine.active()[0]).toMatchObject({ state: 'firing', acknowledgedBy: null });
    expect(engine.status().find((s) => s.ruleId === 'lag')?.acknowledged).toBe(false);
  });

  it('holds back notifications and webhooks of a silenced rule until the silence ends, and keeps it across a restart', () => {
    const { engine, clock, db } = setup();
    engine.silence('lag', 'key:op1', 600);
    const [fired] = engine.evaluate({ 'test.value': 300 });
    expect(fired?.silencedUntil).toBe(new Date(clock.now() + 600_000).toISOString());
    expect(silencedWhenSent(fired!)).toBe(true);
    expect(toWebhookEvent({ event: 'monitoring.alert', payload: fired! })).toBeNull();
    expect(new AlertEngine(db, clock).silences.isSilenced('lag', clock.now())).toBe(true);
    clock.advance(601_000);
    engine.evaluate({ 'test.value': 10 });
    const [again] = engine.evaluate({ 'test.value': 300 });
    expect(again?.silencedUntil).toBeNull();
    expect(toWebhookEvent({ event: 'monitoring.alert', payload: again! })?.type).toBe('alert.fired');
  });

  it('refuses to acknowledge or silence a rule that does not exist', () => {
    const { engine } = setup();
    expect(() => engine.acknowledge('nope', 'x')).toThrow(expect.objectContaining({ code: 'PH_MONITORING_RULE_NOT_FOUND' }));
    expect(() => engine.silence('nope', 'x', 60)).toThrow(expect.objectContaining({ code: 'PH_MONITORING_RULE_NOT_FOUND' }));
  });
});

describe('alert levers over HTTP', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('lets an operator acknowledge and silence, refuses a viewer, and audits each call with its actor', async () => {
    const keys = t.plane.running.keys;
    const viewer = keys.create({ name: 'watcher', role: 'viewer', scopes: ['*'] }, 'system');
    const operator = keys.create({ name: 'on call', role: 'operator', scopes: ['*'] }, 'system');
    const ruleId = (await t.op('monitoring.alerts')).body.rules[0].id as string;

    expect((await t.op('monitoring.alerts.silence', { ruleId, seconds: 60 }, viewer.secret)).body.error.code).toBe('PH_FORBIDDEN');
    const silenced = await t.op('monitoring.alerts.silence', { ruleId, seconds: 3600 }, operator.secret);
    expect(silenced.status).toBe(200);
    expect(silenced.body.silence).toMatchObject({ ruleId, silencedBy: `key:${operator.key.id}` });
    const acked = await t.op('monitoring.alerts.acknowledge', { ruleId }, operator.secret);
    expect(acked.body.silence.acknowledgedBy).toBe(`key:${operator.key.id}`);
    expect((await t.op('monitoring.alerts.silence', { ruleId, seconds: 30 * 86_400 + 1 })).body.error.code).toBe('PH_INVALID_INPUT');

    const status = (await t.op('monitoring.alerts')).body.status.find((s: { ruleId: string }) => s.ruleId === ruleId);
    expect(status.silence.silencedUntil).not.toBeNull();
    const audit = (await t.op('audit.list', { action: 'monitoring.alerts.silence' })).body.entries;
    expect(audit.map((e: { actor: string; outcome: string; target: string }) => [e.actor, e.outcome])).toEqual([
      [`key:${operator.key.id}`, 'ok'],
    ]);
    expect((await t.op('audit.list', { action: 'monitoring.alerts.acknowledge' })).body.total).toBe(1);
  });
});
