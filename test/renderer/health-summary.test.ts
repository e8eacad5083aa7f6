import { describe, expect, it } from 'vitest';
import { healthSummary, type HealthInputs } from '../../renderer/src/views/health-summary';

const well: HealthInputs = {
  dependencies: 'ok',
  dependencyList: [
    { name: 'sqlite', status: 'up' },
    { name: 'redis', status: 'up' },
  ],
  firingAlerts: [],
  services: [
    { name: 'cache', state: 'running' },
    { name: 'fleet-redis', state: 'running' },
  ],
  instances: { passing: 10, warning: 0, critical: 0 },
  failures: [],
};

describe("the Overview's health summary is the worst of what it knows", () => {
  it('is ok only when dependencies, alerts and instances all are', () => {
    expect(healthSummary(well)).toEqual({ health: 'ok', reasons: [] });
  });

  it('is degraded, naming the alert, under a firing critical alert while the node itself is only degraded', () => {
    // Redis lost: the redis-down rule fires, /readyz stays 200 and monitoring.overview says degraded.
    const s = healthSummary({
      ...well,
      dependencies: 'degraded',
      dependencyList: [{ name: 'redis', status: 'down' }],
      firingAlerts: [{ name: 'Redis down', severity: 'critical' }],
    });
    expect(s).toEqual({ health: 'degraded', reasons: ['redis is down', 'Redis down is firing (critical)'] });
    expect(healthSummary({ ...well, firingAlerts: [{ name: 'Disk almost full', severity: 'critical' }] }).health).toBe('degraded');
  });

  it('is down only when the node says it is down', () => {
    const s = healthSummary({
      ...well,
      dependencies: 'down',
      dependencyList: [{ name: 'sqlite', status: 'down' }],
      firingAlerts: [{ name: 'Disk almost full', severity: 'critical' }],
    });
    expect(s).toEqual({ health: 'down', reasons: ['sqlite is down', 'Disk almost full is firing (critical)'] });
  });

  it('is degraded while one of the node services is degraded, naming it and why', () => {
    const s = healthSummary({
      ...well,
      services: [
        { name: 'cache', state: 'running' },
        { name: 'fleet-redis', state: 'degraded', detail: 'PH_REDIS_NOT_DURABLE: appendonly is off' },
      ],
    });
    expect(s).toEqual({ health: 'degraded', reasons: ['fleet-redis is degraded (PH_REDIS_NOT_DURABLE: appendonly is off)'] });
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
