import { describe, expect, it } from 'vitest';
import { SeriesRegistry } from '../../main/monitoring';

describe('series registry', () => {
  it('reads every series once a tick, turning a throwing or non-finite reader into no data', () => {
    const series = new SeriesRegistry();
    let calls = 0;
    series.register({ name: 'ok', unit: 'count', help: '', read: () => (calls += 1) });
    series.register({
      name: 'throws',
      unit: 'count',
      help: '',
      read: () => {
        throw new Error('source gone');
      },
    });
    series.register({ name: 'nan', unit: 'ratio', help: '', read: () => Number.NaN });
    series.register({ name: 'none', unit: 'ratio', help: '', read: () => null });
    expect(series.readAll()).toEqual({ ok: 1, throws: null, nan: null, none: null });
    expect(calls).toBe(1);
    expect(series.list().map((s) => s.name)).toEqual(['nan', 'none', 'ok', 'throws']);
  });

  it('lets a capability replace its series and unregister only its own', () => {
    const series = new SeriesRegistry();
    const offOld = series.register({ name: 'jobs.backlog', unit: 'count', help: 'old', read: () => 1 });
    series.register({ name: 'jobs.backlog', unit: 'count', help: 'new', read: () => 2 });
    offOld();
    expect(series.has('jobs.backlog')).toBe(true);
    expect(series.readAll()).toEqual({ 'jobs.backlog': 2 });
  });
});
