import { describe, expect, it } from 'vitest';
import { AlertEngine, defaultAlertRules } from '../../main/monitoring';
import { alertEngines, lagRule } from './alert-fixture';

const rule = lagRule(60);

describe('alert engine', () => {
  const setup = alertEngines();

  it('starts with the default rules, including the backup-overdue and job-backlog hooks', () => {
    const { engine } = setup();
    expect(
      engine
        .rules()
        .map((r) => r.id)
        .sort(),
    ).toEqual(defaultAlertRules.map((r) => r.id).sort());
    expect(engine.rules().find((r) => r.id === 'backup-overdue')?.metric).toBe('backup.overdue_seconds');
    expect(engine.rules().find((r) => r.id === 'job-backlog')?.metric).toBe('jobs.backlog');
  });

  it('goes pending when the condition holds, firing once it has held for the duration, resolved when it stops', () => {
    const { engine, clock, seen } = setup();
    engine.save(rule);
    engine.evaluate({ 'test.value': 250 });
    expect(engine.stateOf('lag')).toBe('pending');
    clock.advance(59_000);
    engine.evaluate({ 'test.value': 300 });
    expect(engine.stateOf('lag')).toBe('pending');
    clock.advance(1_000);
    engine.evaluate({ 'test.value': 300 });
    expect(engine.stateOf('lag')).toBe('firing');
    expect(engine.firing().map((a) => a.ruleId)).toEqual(['lag']);
    clock.advance(10_000);
    engine.evaluate({ 'test.value': 20 });
    expect(engine.stateOf('lag')).toBe('resolved');
    expect(engine.active()).toEqual([]);
    expect(seen.map((a) => a.state)).toEqual(['pending', 'firing', 'resolved']);
    expect(seen[1]?.message).toContain('test.value is 300');
    expect(seen[1]?.since).toBe(new Date(clock.now() - 10_000).toISOString());
    const history = engine.history({ ruleId: 'lag' });
    expect(history.map((e) => e.state)).toEqual(['resolved', 'firing', 'pending']);
    expect(history[1]?.value).toBe(300);
  });

  it('drops a pending alert back to inactive without firing when the condition clears in time', () => {
    const { engine, clock, seen } = setup();
    engine.save(rule);
    engine.evaluate({ 'test.value': 250 });
    clock.advance(30_000);
    engine.evaluate({ 'test.value': 100 });
    expect(engine.stateOf('lag')).toBe('inactive');
    expect(seen.map((a) => a.state)).toEqual(['pending', 'inactive']);
  });

  it('fires at once when forSeconds is 0 and ignores ticks where the series has no value', () => {
    const { engine, clock } = setup();
    engine.save({ ...rule, forSeconds: 0 });
    engine.evaluate({});
    engine.evaluate({ 'test.value': null });
    expect(engine.stateOf('lag')).toBe('inactive');
    engine.evaluate({ 'test.value': 201 });
    expect(engine.stateOf('lag')).toBe('firing');
    clock.advance(60_000);
    engine.evaluate({ 'test.value': null });
    expect(engine.stateOf('lag')).toBe('firing');
  });

  it('resolves a firing alert when its rule is disabled, changed or deleted, and keeps edits across restarts', () => {
    const { engine, db, clock } = setup();
    engine.save({ ...rule, forSeconds: 0 });
    engine.evaluate({ 'test.value': 500 });
    engine.save({ ...rule, forSeconds: 0, enabled: false });
    expect(engine.stateOf('lag')).toBe('inactive');
    expect(engine.history({ ruleId: 'lag', limit: 1 })[0]?.state).toBe('resolved');
    engine.save({ ...rule, forSeconds: 0, threshold: 400 });
    engine.evaluate({ 'test.value': 500 });
    expect(engine.stateOf('lag')).toBe('firing');
    engine.delete('lag');
    expect(engine.history({ ruleId: 'lag', limit: 1 })[0]?.message).toContain('rule deleted');
    expect(() => engine.delete('lag')).toThrowError(expect.objectContaining({ code: 'PH_MONITORING_RULE_NOT_FOUND' }));
    engine.save({ ...defaultAlertRules[0]!, threshold: 0.5 });
    const again = new AlertEngine(db, clock);
    expect(again.rules().find((r) => r.id === defaultAlertRules[0]!.id)?.threshold).toBe(0.5);
    expect(again.rules().some((r) => r.id === 'lag')).toBe(false);
  });

  it('lists firing alerts before pending ones and critical before warning', () => {
    const { engine } = setup();
    engine.save({ ...rule, id: 'a-warn', forSeconds: 0 });
    engine.save({ ...rule, id: 'b-crit', severity: 'critical', forSeconds: 0 });
    engine.save({ ...rule, id: 'c-pending', severity: 'critical', forSeconds: 600 });
    engine.evaluate({ 'test.value': 999 });
    expect(engine.active().map((a) => `${a.ruleId}:${a.state}`)).toEqual(['b-crit:firing', 'a-warn:firing', 'c-pending:pending']);
  });
});

describe('alert notifications', () => {
  it('shows firing and resolved alerts from the bus, not pending ones', async () => {
    const { EventBus } = await import('../../main/events');
    const { notifyAlerts } = await import('../../main/monitoring');
    const bus = new EventBus();
    const shown: string[] = [];
    const off = notifyAlerts(bus, (title) => shown.push(title));
    const base = {
      ruleId: 'redis-down',
      name: 'Redis down',
      severity: 'critical' as const,
      metric: 'redis.up',
      value: 0,
      threshold: 1,
      comparator: '<' as const,
      since: new Date(0).toISOString(),
      message: 'm',
    };
    bus.publish('monitoring.alert', { ...base, state: 'pending' });
    bus.publish('monitoring.alert', { ...base, state: 'firing' });
    bus.publish('monitoring.alert', { ...base, state: 'resolved' });
    off();
    bus.publish('monitoring.alert', { ...base, state: 'firing' });
    expect(shown).toEqual(['Critical: Redis down', 'Resolved: Redis down']);
  });
});
