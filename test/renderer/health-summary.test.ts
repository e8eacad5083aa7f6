import { describe, expect, it } from 'vitest';
import { healthSummary, type HealthInputs } from '../../renderer/src/views/health-summary';

const well: HealthInputs = {
  dependencies: 'ok',
  dependencyList: [
    { name: 'sqlite', status: 'up' },
    { name: 'redis', status: 'up' },
  ],
  firingAlerts: [],
  instances: { passing: 10, warning: 0, critical: 0 },
  failures: [],
};

describe("the Overview's health summary is the worst of what it knows", () => {
  it('is ok only when dependencies, alerts and instances all are', () => {
    expect(healthSummary(well)).toEqual({ health: 'ok', reasons: [] });
  });

  it('is down under a firing critical alert even when every dependency is up', () => {
    const s = healthSummary({ ...well, firingAlerts: [{ name: 'Disk almost full', severity: 'critical' }] });
    expect(s.health).toBe('down');
    expect(s.reasons).toEqual(['Disk almost full is firing']);
  });

  it('is degraded while a registry instance is critical, though every Pilothouse service runs', () => {
    expect(healthSummary({ ...well, instances: { passing: 9, warning: 0, critical: 1 } }).health).toBe('degraded');
  });

  it('names a down optional dependency as degraded, and says so', () => {
    const s = healthSummary({ ...well, dependencies: 'degraded', dependencyList: [{ name: 'redis', status: 'down' }] });
    expect(s).toEqual({ health: 'degraded', reasons: ['redis is down'] });
  });

  it('is never ok when a source failed to answer or has not answered yet', () => {
    expect(healthSummary({ ...well, failures: ['PH_CONSOLE_TIMEOUT'] }).health).toBe('unknown');
    expect(healthSummary({ ...well, dependencies: undefined, dependencyList: [] }).health).toBe('unknown');
    expect(healthSummary({ ...well, instances: { passing: 1, warning: 0, critical: 2 }, failures: ['PH_UNAVAILABLE'] }).health).toBe(
      'degraded',
    );
  });
});
