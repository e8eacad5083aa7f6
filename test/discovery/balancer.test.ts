import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { HashRing, LoadBalancer, type Target } from '../../main/discovery';
import { ManualClock, registryFixture, type RegistryFixture } from './helpers';

describe('load balancing over passing instances', () => {
  const fixtures: RegistryFixture[] = [];
  afterEach(() => fixtures.splice(0).forEach((f) => f.close()));

  const setup = (count: number, options: { weights?: number[]; random?: () => number } = {}) => {
    const clock = new ManualClock();
    const f = registryFixture(clock);
    fixtures.push(f);
    for (let i = 1; i <= count; i += 1) {
      f.registry.register({ name: 'api', id: `api-${i}`, address: '127.0.0.1', port: 9000 + i, weight: options.weights?.[i - 1] ?? 1 });
    }
    const balancer = new LoadBalancer(f.registry, clock, options.random);
    const tally = (n: number, key?: (i: number) => string): Map<string, number> => {
      const counts = new Map<string, number>();
      for (let i = 0; i < n; i += 1) {
        const t = balancer.pick('api', key === undefined ? {} : { key: key(i) });
        counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
      }
      return counts;
    };
    return { f, clock, balancer, tally, registry: f.registry };
  };

  it('round-robin visits every instance in turn', () => {
    const { balancer } = setup(3);
    const seq = Array.from({ length: 6 }, () => balancer.pick('api').id);
    expect(seq).toEqual(['api-1', 'api-2', 'api-3', 'api-1', 'api-2', 'api-3']);
  });

  it('weighted round-robin follows the weights smoothly (5:1:1 gives no run of five)', () => {
    const { balancer, registry, tally } = setup(3, { weights: [5, 1, 1] });
    registry.configure('api', { strategy: 'weighted' });
    const seq = Array.from({ length: 7 }, () => balancer.pick('api').id);
    expect(seq).toEqual(['api-1', 'api-1', 'api-2', 'api-1', 'api-3', 'api-1', 'api-1']);
    expect(Object.fromEntries(tally(700))).toEqual({ 'api-1': 500, 'api-2': 100, 'api-3': 100 });
  });

  it('least-requests with two random choices sends to the instance with fewer requests in flight', () => {
    const { balancer, registry } = setup(2);
    registry.configure('api', { strategy: 'least-requests' });
    const busy = registry.passing('api')[0] as Target;
    for (let i = 0; i < 5; i += 1) balancer.begin(busy);
    for (let i = 0; i < 50; i += 1) expect(balancer.pick('api').id).toBe('api-2');
    for (let i = 0; i < 5; i += 1) balancer.end(busy, 'ok');
    expect(balancer.inFlight('api-1')).toBe(0);
  });

  it('random reaches every instance', () => {
    const { registry, tally } = setup(4);
    registry.configure('api', { strategy: 'random' });
    const counts = tally(400);
    expect(counts.size).toBe(4);
    for (const n of counts.values()) expect(n).toBeGreaterThan(50);
  });

  it('never picks a critical, warning or maintenance instance', () => {
    const { balancer, registry, tally } = setup(4);
    registry.register({ name: 'api', id: 'api-2', address: '127.0.0.1', port: 9002, checks: [{ kind: 'tcp' }] });
    registry.register({ name: 'api', id: 'api-3', address: '127.0.0.1', port: 9003, checks: [{ kind: 'ttl', ttlMs: 1000 }] });
    registry.heartbeat('api-3', 'warning');
    registry.setMaintenance('api-4', true);
    for (const strategy of ['round-robin', 'weighted', 'least-requests', 'random', 'consistent-hash'] as const) {
      registry.configure('api', { strategy });
      expect([...tally(50, (i) => `k${i}`).keys()]).toEqual(['api-1']);
    }
    registry.setMaintenance('api-1', true);
    expect(() => balancer.pick('api')).toThrowError(expect.objectContaining({ code: 'PH_DISCOVERY_NO_INSTANCE' }));
  });

  it('consistent hashing sends a key to the same instance every time and spreads keys', () => {
    const { registry, tally } = setup(4);
    registry.configure('api', { strategy: 'consistent-hash' });
    const first = tally(1, () => 'user-42');
    for (let i = 0; i < 20; i += 1) expect([...tally(1, () => 'user-42').keys()]).toEqual([...first.keys()]);
    const spread = tally(4000, (i) => `user-${i}`);
    for (const n of spread.values()) expect(n).toBeGreaterThan(600);
  });

  it('consistent hashing moves only the keys of a removed instance (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.nat(),
        fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 50, maxLength: 300 }),
        (n, which, keys) => {
          const nodes = Array.from({ length: n }, (_, i) => ({ id: `node-${i}`, weight: 1 }));
          const removed = nodes[which % n] as { id: string };
          const before = new HashRing(nodes);
          const after = new HashRing(nodes.filter((x) => x !== removed));
          for (const key of keys) {
            const was = before.get(key)?.id;
            if (was !== removed.id) expect(after.get(key)?.id).toBe(was);
            else expect(after.get(key)?.id).not.toBe(removed.id);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('consistent hashing in the balancer keeps keys in place when an instance goes critical', () => {
    const { registry, balancer } = setup(5);
    registry.configure('api', { strategy: 'consistent-hash' });
    const keys = Array.from({ length: 500 }, (_, i) => `session-${i}`);
    const before = new Map(keys.map((k) => [k, balancer.pick('api', { key: k }).id]));
    registry.setMaintenance('api-3', true);
    let moved = 0;
    for (const k of keys) {
      const now = balancer.pick('api', { key: k }).id;
      if (before.get(k) === 'api-3') moved += 1;
      else expect(now).toBe(before.get(k));
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('ejects an instance after N consecutive failures and lets it back when the time is up', () => {
    const { balancer, registry, clock, tally } = setup(3);
    registry.configure('api', { outlier: { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionShare: 0.5 } });
    const bad = registry.passing('api')[0] as Target;
    balancer.report(bad, 'http-5xx');
    balancer.report(bad, 'connect-failure');
    balancer.report(bad, 'ok'); // a success resets the run
    balancer.report(bad, 'http-5xx');
    balancer.report(bad, 'http-5xx');
    expect(balancer.ejection('api', bad.id).ejected).toBe(false);
    const ejection = balancer.report(bad, 'http-5xx');
    expect(ejection).toMatchObject({ id: bad.id, ejections: 1, until: clock.now() + 1_000 });
    expect(tally(30).has(bad.id)).toBe(false);
    clock.advance(1_001);
    expect(tally(30).has(bad.id)).toBe(true);
  });

  it('grows the ejection time with each ejection and caps it at maxEjectionMs', () => {
    const { balancer, registry, clock } = setup(2);
    registry.configure('api', { outlier: { consecutiveFailures: 1, baseEjectionMs: 1_000, maxEjectionMs: 2_500, maxEjectionShare: 0.5 } });
    const bad = registry.passing('api')[0] as Target;
    const durations: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const e = balancer.report(bad, 'connect-failure');
      expect(e).not.toBeNull();
      durations.push((e?.until ?? 0) - clock.now());
      clock.advance((e?.until ?? 0) - clock.now() + 1);
    }
    expect(durations).toEqual([1_000, 2_000, 2_500, 2_500]);
  });

  it('never ejects more than the allowed share of instances at once', () => {
    const { balancer, registry, tally } = setup(4);
    registry.configure('api', { outlier: { consecutiveFailures: 1, baseEjectionMs: 10_000, maxEjectionShare: 0.5 } });
    const all = [...registry.passing('api')];
    const ejected = all.map((t) => balancer.report(t, 'connect-failure')).filter((e) => e !== null);
    expect(ejected).toHaveLength(2);
    expect(tally(40).size).toBe(2);
    // One instance alone is never ejected at share 0.5: floor(0.5 × 1) = 0.
    const single = setup(1);
    single.registry.configure('api', { outlier: { consecutiveFailures: 1 } });
    expect(single.balancer.report(single.registry.passing('api')[0] as Target, 'connect-failure')).toBeNull();
    expect(single.balancer.pick('api').id).toBe('api-1');
  });

  it('skips instances a retry already tried', () => {
    const { balancer } = setup(2);
    expect(balancer.pick('api', { exclude: new Set(['api-1']) }).id).toBe('api-2');
    expect(() => balancer.pick('api', { exclude: new Set(['api-1', 'api-2']) })).toThrowError(
      expect.objectContaining({ code: 'PH_DISCOVERY_NO_INSTANCE' }),
    );
  });
});
