import { afterEach, describe, expect, it } from 'vitest';
import { registryFixture, type RegistryFixture } from './helpers';

describe('service registry', () => {
  const fixtures: RegistryFixture[] = [];
  const fresh = (): RegistryFixture => {
    const f = registryFixture();
    fixtures.push(f);
    return f;
  };
  afterEach(() => fixtures.splice(0).forEach((f) => f.close()));

  it('registers an instance without checks as passing and publishes service.registered', () => {
    const { registry, events } = fresh();
    const instance = registry.register({ name: 'api', address: '127.0.0.1', port: 8080, tags: ['blue'], version: '1.2.3' });
    expect(instance).toMatchObject({
      id: 'api-127.0.0.1-8080',
      name: 'api',
      state: 'passing',
      tags: ['blue'],
      version: '1.2.3',
      weight: 1,
      checks: [],
    });
    expect(events.map((e) => e.event)).toEqual(['service.registered']);
    expect(registry.index).toBe(1);
  });

  it('starts a new check critical until it has passed, so the instance is not picked before it answers', () => {
    const { registry } = fresh();
    const instance = registry.register({ name: 'api', id: 'a', address: '127.0.0.1', port: 1, checks: [{ kind: 'tcp' }] });
    expect(instance.state).toBe('critical');
    expect(instance.checks[0]).toMatchObject({
      id: 'tcp',
      kind: 'tcp',
      status: 'critical',
      target: 'TCP 127.0.0.1:1',
      output: 'Not checked yet',
    });
    expect(registry.passing('api')).toEqual([]);
  });

  it('filters by name, tag, health state and semver range', () => {
    const { registry } = fresh();
    registry.register({ name: 'api', id: 'a1', address: '10.0.0.1', port: 1, tags: ['eu'], version: '1.4.0' });
    registry.register({ name: 'api', id: 'a2', address: '10.0.0.2', port: 1, tags: ['us'], version: '2.0.1' });
    registry.register({ name: 'api', id: 'a3', address: '10.0.0.3', port: 1, tags: ['eu'] });
    registry.register({ name: 'db', id: 'd1', address: '10.0.0.4', port: 1, tags: ['eu'], version: '1.9.9', checks: [{ kind: 'tcp' }] });
    const ids = (filter: Parameters<typeof registry.list>[0]) => registry.list(filter).map((i) => i.id);
    expect(ids({ name: 'api' })).toEqual(['a1', 'a2', 'a3']);
    expect(ids({ tag: 'eu' })).toEqual(['a1', 'a3', 'd1']);
    expect(ids({ state: 'critical' })).toEqual(['d1']);
    expect(ids({ versionRange: '^1.2' })).toEqual(['a1', 'd1']);
    expect(ids({ name: 'api', versionRange: '>=2 <3' })).toEqual(['a2']);
    expect(ids({ name: 'api', tag: 'eu', state: 'passing' })).toEqual(['a1', 'a3']);
  });

  it('lists critical instances first in health order, by name otherwise', () => {
    const { registry } = fresh();
    registry.register({ name: 'api', id: 'a1', address: '10.0.0.1', port: 1 });
    registry.register({ name: 'web', id: 'w1', address: '10.0.0.2', port: 1, checks: [{ kind: 'tcp' }] });
    registry.register({ name: 'db', id: 'd1', address: '10.0.0.3', port: 1 });
    registry.register({ name: 'cache', id: 'c1', address: '10.0.0.4', port: 1, checks: [{ kind: 'tcp' }] });
    expect(registry.list({}, 'health').map((i) => i.id)).toEqual(['c1', 'w1', 'a1', 'd1']);
    expect(registry.list({}).map((i) => i.id)).toEqual(['a1', 'c1', 'd1', 'w1']);
  });

  it('refuses a version that is not semver and a range that is not a range, with coded errors', () => {
    const { registry } = fresh();
    expect(() => registry.register({ name: 'api', address: 'h', port: 1, version: 'v-latest' })).toThrowError(
      expect.objectContaining({ code: 'PH_DISCOVERY_BAD_VERSION', field: 'version' }),
    );
    expect(() => registry.list({ versionRange: 'not a range!' })).toThrowError(expect.objectContaining({ code: 'PH_DISCOVERY_BAD_RANGE' }));
    expect(() =>
      registry.register({ name: 'api', address: 'h', port: 1, checks: [{ kind: 'ttl' }, { kind: 'tcp', id: 'ttl' }] }),
    ).toThrowError(expect.objectContaining({ code: 'PH_DISCOVERY_CHECK_INVALID', field: 'checks.1.id' }));
    expect(() => registry.deregister('nope')).toThrowError(expect.objectContaining({ code: 'PH_DISCOVERY_NOT_FOUND' }));
  });

  it('counts instances by health in the summary, so the counts add up to the instances', () => {
    const { registry } = fresh();
    registry.register({ name: 'api', id: 'a1', address: 'h', port: 1, version: '1.0.0' });
    registry.register({ name: 'api', id: 'a2', address: 'h', port: 2, version: '1.1.0', checks: [{ kind: 'tcp' }] });
    registry.register({ name: 'api', id: 'a3', address: 'h', port: 3 });
    registry.setMaintenance('a3', true, 'disk swap');
    const [api] = registry.summary();
    expect(api).toMatchObject({
      name: 'api',
      instances: 3,
      counts: { passing: 1, warning: 0, critical: 1, maintenance: 1 },
      versions: ['1.0.0', '1.1.0'],
    });
  });

  it('keeps check status and the index when the same registration comes again (no flap on re-register)', () => {
    const { registry, events } = fresh();
    const input = { name: 'api', id: 'a', address: '127.0.0.1', port: 9, checks: [{ kind: 'tcp' as const, failuresBeforeCritical: 1 }] };
    registry.register(input);
    registry.recordResult('a', 'tcp', { status: 'passing', output: 'ok' });
    expect(registry.get('a').state).toBe('passing');
    const index = registry.index;
    const count = events.length;
    const again = registry.register(input);
    expect(again.state).toBe('passing');
    expect(registry.index).toBe(index);
    expect(events.length).toBe(count);
    // Changing only a tag keeps the unchanged check's status too.
    const tagged = registry.register({ ...input, tags: ['new'] });
    expect(tagged.state).toBe('passing');
    expect(registry.index).toBe(index + 1);
  });

  it('writes status changes to the check history, newest first, and survives a reopen', () => {
    const f = fresh();
    f.registry.register({ name: 'api', id: 'a', address: 'h', port: 1, checks: [{ kind: 'http', failuresBeforeCritical: 1 }] });
    f.registry.recordResult('a', 'http', { status: 'passing', output: 'HTTP 200' });
    f.registry.recordResult('a', 'http', { status: 'critical', output: 'HTTP 500' });
    f.registry.setMaintenance('a', true, 'patching');
    const history = f.registry.get('a').checks[0]?.history ?? [];
    expect(history.map((h) => h.status)).toEqual(['critical', 'passing']);
    const reopened = f.reopen();
    const instance = reopened.get('a');
    expect(instance.state).toBe('maintenance');
    expect(instance.maintenance?.reason).toBe('patching');
    expect(instance.checks[0]).toMatchObject({ status: 'critical', output: 'HTTP 500' });
    expect(reopened.index).toBe(f.registry.index);
  });

  it('publishes service.health only when the instance state changes, and service.deregistered on removal', () => {
    const { registry, events } = fresh();
    registry.register({ name: 'api', id: 'a', address: 'h', port: 1, checks: [{ kind: 'tcp', failuresBeforeCritical: 1 }] });
    registry.recordResult('a', 'tcp', { status: 'passing', output: 'up' });
    registry.recordResult('a', 'tcp', { status: 'passing', output: 'still up' });
    registry.deregister('a');
    expect(events.map((e) => e.event)).toEqual(['service.registered', 'service.health', 'service.deregistered']);
    expect(events[1]?.payload).toMatchObject({ id: 'a', state: 'passing', previous: 'critical', check: { id: 'tcp', status: 'passing' } });
  });

  it('long-polls: a watch returns on a change to its service and not on changes to others', async () => {
    const { registry } = fresh();
    registry.register({ name: 'api', id: 'a', address: 'h', port: 1 });
    const index = registry.index;
    let settled = false;
    const watching = registry.watch({ name: 'api' }, index, 5_000).then((r) => {
      settled = true;
      return r;
    });
    // A watch on the other service, from the same index, shows the change was handed to the watchers.
    const other = registry.watch({ name: 'other' }, index, 5_000);
    registry.register({ name: 'other', id: 'o', address: 'h', port: 2 });
    expect((await other).changed).toBe(true);
    await new Promise((r) => setImmediate(r)); // every callback of that hand-out has run
    expect(settled).toBe(false);
    registry.register({ name: 'api', id: 'b', address: 'h', port: 3 });
    const result = await watching;
    expect(result.changed).toBe(true);
    expect(result.index).toBeGreaterThan(index);
    expect(result.instances.map((i) => i.id)).toEqual(['a', 'b']);
  });

  it('returns at once for a stale index and with changed=false when the wait runs out', async () => {
    const { registry } = fresh();
    registry.register({ name: 'api', id: 'a', address: 'h', port: 1 });
    const stale = await registry.watch({}, 0, 10_000);
    expect(stale).toMatchObject({ changed: true, index: 1 });
    const started = Date.now();
    const idle = await registry.watch({}, registry.index, 120);
    expect(idle.changed).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
