import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FleetSeal } from '../../main/fleet';
import type { Logger } from '../../main/logger';

const SECRET = 'a-fleet-secret-of-more-than-32-characters';

function fixture() {
  const clock = { t: Date.UTC(2026, 11, 3), now: () => clock.t };
  const warnings: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ ...fields, msg }) } as unknown as Logger;
  const registry = new Registry();
  const seal = new FleetSeal({ secret: SECRET, nodeId: 'node-a', clock, registry, logger });
  return { clock, warnings, registry, seal };
}

describe('the fleet seal', () => {
  it('opens what a node with the same secret sealed, for the same kind and subject only', () => {
    const { seal, clock } = fixture();
    const peer = new FleetSeal({ secret: SECRET, nodeId: 'node-b', clock });
    const sealed = peer.seal('discovery.change', 'ph:discovery:changes', '{"x":1}');
    expect(seal.open('discovery.change', 'ph:discovery:changes', sealed)).toEqual({ node: 'node-b', at: clock.t, body: '{"x":1}' });
    expect(seal.open('discovery.change', 'ph:other', sealed)).toBeNull();
    expect(seal.open('cache.bus', 'ph:discovery:changes', sealed)).toBeNull();
    expect(seal.open('discovery.change', 'ph:discovery:changes', sealed.replace('{"x":1}', '{"x":2}'))).toBeNull();
    expect(seal.rejected('discovery.change', 'signature')).toBe(2);
  });

  it('counts each dropped message in prometheus but warns at most once per 10 s per channel and reason', async () => {
    const { seal, clock, warnings, registry } = fixture();
    for (let i = 0; i < 100; i += 1) seal.open('cache.bus', 'ph:cache:bus', 'not sealed');
    expect(warnings).toHaveLength(1);
    clock.t += 10_000;
    seal.open('cache.bus', 'ph:cache:bus', 'not sealed');
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatchObject({ channel: 'cache.bus', reason: 'malformed', suppressedSinceLastWarning: 99 });
    const text = await registry.metrics();
    expect(text).toContain('pilothouse_fleet_messages_rejected_total{channel="cache.bus",reason="malformed"} 101');
  });

  it('drops a message older or newer than 30 s, and refuses a short secret', () => {
    const { seal, clock } = fixture();
    const sealed = seal.seal('realtime.event', 'ph:rt:events', 'e');
    clock.t += 30_001;
    expect(seal.open('realtime.event', 'ph:rt:events', sealed)).toBeNull();
    expect(seal.rejected('realtime.event', 'stale')).toBe(1);
    expect(seal.open('realtime.event', 'ph:rt:events', sealed, false)?.body).toBe('e');
    expect(() => new FleetSeal({ secret: 'short', nodeId: 'n', clock })).toThrow(/32 characters/);
  });

  it('says a message was dropped for its age, naming the sender and how far apart the clocks are, not that it is not from the fleet', () => {
    const { seal, clock, warnings } = fixture();
    const ahead = new FleetSeal({ secret: SECRET, nodeId: 'node-c', clock: { now: () => clock.t + 90_000 } });
    expect(seal.open('cache.bus', 'ph:cache:bus', ahead.seal('cache.bus', 'ph:cache:bus', 'k'))).toBeNull();
    expect(warnings[0]).toMatchObject({ channel: 'cache.bus', reason: 'stale', from: 'node-c', ageMs: -90_000 });
    expect(warnings[0]!.msg).toMatch(/for its age: node node-c stamped it 90\.0 s after this node's clock.*clocks disagree/);
    expect(warnings[0]!.msg).not.toContain('not from this fleet');
    seal.open('cache.bus', 'ph:cache:bus', 'ph1|node-x|1|bad');
    expect(warnings[1]!.msg).toContain('not from this fleet (not in the fleet envelope)');
  });
});
