import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../contract/errors';
import { events } from '../../contract/events';
import { operationChannel } from '../../contract/ipc';
import { operations } from '../../contract/operations';
import { routeTable } from '../../contract/routes';

describe('the contract', () => {
  it('matches the reviewed snapshot of every operation, event and error code', () => {
    const surface = {
      operations: Object.fromEntries(
        Object.entries(operations).map(([name, def]) => [
          name,
          {
            minRole: def.minRole,
            mutating: def.mutating,
            audit: def.audit ?? null,
            channel: operationChannel(name as keyof typeof operations),
            input: def.input,
            output: def.output,
          },
        ]),
      ),
      events: Object.fromEntries(Object.entries(events).map(([name, def]) => [name, { minRole: def.minRole, payload: def.payload }])),
      errors: errorCatalogue,
      routes: routeTable(),
    };
    expect(JSON.parse(JSON.stringify(surface))).toMatchSnapshot();
  });

  it('names every error code PH_ with a 4xx or 5xx status', () => {
    for (const [code, def] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^PH_[A-Z0-9_]+$/);
      expect(def.status).toBeGreaterThanOrEqual(400);
      expect(def.status).toBeLessThan(600);
    }
  });

  it('declares how every mutating operation is audited, and no audit mode on a read', () => {
    for (const def of Object.values(operations)) {
      if (def.mutating) expect(['each', 'counted']).toContain(def.audit);
      else expect(def.audit).toBeUndefined();
    }
  });

  it('names operations <capability>.<verb> so each maps to one IPC channel and one URL', () => {
    for (const name of Object.keys(operations)) expect(name).toMatch(/^[a-z]+(\.[a-zA-Z]+)+$/);
  });
});
