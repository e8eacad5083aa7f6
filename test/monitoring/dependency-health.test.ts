import { afterEach, describe, expect, it } from 'vitest';
import { DependencyHealth, SystemSampler, diskProbe, sqliteProbe, type ProbeResult } from '../../main/monitoring';
import { tempDir } from '../helpers/temp-dir';
import { fakeClock } from './fake-clock';
import { monitoringDb } from './store';

describe('dependency health', () => {
  const open: { close: () => void }[] = [];
  afterEach(() => open.splice(0).forEach((s) => s.close()));

  it('marks a probe that throws or overruns its timeout as down, with the reason', async () => {
    const health = new DependencyHealth(fakeClock());
    health.register({ name: 'throws', critical: false, check: () => Promise.reject(new Error('connection refused')) });
    health.register({ name: 'hangs', critical: false, timeoutMs: 50, check: () => new Promise<ProbeResult>(() => undefined) });
    const list = await health.checkAll();
    expect(list.find((d) => d.name === 'throws')).toMatchObject({ status: 'down', detail: 'connection refused' });
    expect(list.find((d) => d.name === 'hangs')).toMatchObject({ status: 'down', detail: 'no answer within 50 ms' });
  });

  it('remembers since when a dependency is in its status and reports each change once', async () => {
    const clock = fakeClock();
    const health = new DependencyHealth(clock);
    let status: ProbeResult['status'] = 'up';
    health.register({ name: 'dep', critical: false, check: () => ({ status }) });
    const changes: string[] = [];
    health.onChange((s, previous) => changes.push(`${previous}->${s.status}`));
    await health.checkAll();
    const firstSince = health.get('dep')?.since;
    clock.advance(5_000);
    await health.checkAll();
    expect(health.get('dep')?.since).toBe(firstSince);
    status = 'down';
    clock.advance(5_000);
    await health.checkAll();
    expect(health.get('dep')?.since).toBe(new Date(clock.now()).toISOString());
    expect(changes).toEqual(['unknown->up', 'up->down']);
  });

  it('is down overall only when a critical dependency is down, degraded when anything else is', async () => {
    const health = new DependencyHealth(fakeClock());
    const states: Record<string, ProbeResult['status']> = { core: 'up', extra: 'up' };
    health.register({ name: 'core', critical: true, check: () => ({ status: states.core ?? 'up' }) });
    health.register({ name: 'extra', critical: false, check: () => ({ status: states.extra ?? 'up' }) });
    await health.checkAll();
    expect(health.overall()).toBe('ok');
    states.extra = 'down';
    await health.checkAll();
    expect(health.overall()).toBe('degraded');
    states.core = 'down';
    await health.checkAll();
    expect(health.overall()).toBe('down');
    expect(health.list().map((d) => d.name)).toEqual(['core', 'extra']);
  });

  it('probes SQLite with a real write, and reports free disk space where a folder lives', async () => {
    const store = monitoringDb();
    open.push(store);
    const clock = fakeClock();
    const dir = tempDir();
    open.push({ close: dir.remove });
    const health = new DependencyHealth(clock);
    health.register(sqliteProbe(store.db, () => clock.now()));
    health.register(diskProbe('data', dir.path));
    health.register(diskProbe('full', dir.path, { degradedAbove: 0, downAbove: 0 }));
    await health.checkAll();
    expect(health.get('sqlite')?.status).toBe('up');
    expect(store.db.prepare('SELECT at FROM monitoring_probe').get()).toEqual({ at: clock.now() });
    expect(health.get('disk:data')?.detail).toMatch(/free of .* used\) at /);
    expect(health.get('disk:full')?.status).toBe('down');
    store.db.pragma('query_only = ON');
    await health.checkAll();
    expect(health.get('sqlite')?.status).toBe('down');
  });
});

describe('system sampler', () => {
  it('measures CPU, memory, event-loop delay and utilization, handles and disk over an interval', async () => {
    const dir = tempDir();
    const sampler = new SystemSampler(fakeClock());
    sampler.addDisk('data', dir.path);
    sampler.start();
    try {
      await new Promise((r) => setTimeout(r, 25));
      const until = Date.now() + 80;
      while (Date.now() < until) {
        /* keep the loop busy for 80 ms, so delay and utilization have something to show */
      }
      await new Promise((r) => setTimeout(r, 30));
      const s = sampler.sample();
      expect(s.cpuPercent).toBeGreaterThan(0);
      expect(s.rssBytes).toBeGreaterThan(s.heapUsedBytes);
      expect(s.heapLimitBytes).toBeGreaterThan(s.heapTotalBytes);
      expect(s.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(30);
      expect(s.eventLoopUtilization).toBeGreaterThan(0.3);
      expect(s.activeHandles).toBeGreaterThan(0);
      expect(s.disks).toHaveLength(1);
      expect(s.disks[0]?.totalBytes).toBeGreaterThan(s.disks[0]?.freeBytes ?? Infinity);
      expect(sampler.last).toBe(s);
    } finally {
      sampler.stop();
      dir.remove();
    }
  });
});
