import { afterEach } from 'vitest';
import { AlertEngine, type Alert, type AlertRule } from '../../main/monitoring';
import { fakeClock } from './fake-clock';
import { monitoringDb } from './store';

/** A warning when `test.value` stays over 200 for `forSeconds`. */
export const lagRule = (forSeconds: number): AlertRule => ({
  id: 'lag',
  name: 'Lagging',
  metric: 'test.value',
  comparator: '>',
  threshold: 200,
  forSeconds,
  severity: 'warning',
  enabled: true,
  description: 'Too slow.',
});

/**
 * A factory of alert engines, each on its own monitoring database and fake clock, with the
 * transitions it reported in `seen`; every database is closed after each test.
 */
export function alertEngines(): () => {
  engine: AlertEngine;
  clock: ReturnType<typeof fakeClock>;
  seen: Alert[];
  db: ReturnType<typeof monitoringDb>['db'];
} {
  const open: { close: () => void }[] = [];
  afterEach(() => open.splice(0).forEach((s) => s.close()));
  return () => {
    const store = monitoringDb();
    open.push(store);
    const clock = fakeClock();
    const engine = new AlertEngine(store.db, clock);
    const seen: Alert[] = [];
    engine.onTransition((a) => seen.push(a));
    return { engine, clock, seen, db: store.db };
  };
}
