import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryPlane, type DiscoveryPlane } from '../discovery/helpers';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

const options = { fleet: { checkIntervalMs: 200 } };

function rule(threshold: number, id = 'many-connections') {
  return {
    id,
    name: 'Many connections',
    metric: 'ws.connections',
    comparator: '>',
    threshold,
    forSeconds: 0,
    severity: 'warning',
    enabled: true,
    description: 'More WebSocket clients than planned',
  };
}

async function ruleOn(node: DiscoveryPlane, id: string): Promise<{ threshold: number } | undefined> {
  const { body } = await node.op('monitoring.alerts');
  return (body.rules as { id: string; threshold: number }[]).find((r) => r.id === id);
}

/** The rule as the node's alert engine holds it now (no HTTP round trip in the time measured). */
function heldBy(node: DiscoveryPlane, id: string): { threshold: number } | undefined {
  return node.plane.running.monitoring.alerts.rules().find((r) => r.id === id);
}

describe('alert rules and balancing policies are the same on every node', () => {
  let redis: TestRedis;
  let nodes: DiscoveryPlane[];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = [];
    for (let i = 0; i < 3; i += 1) nodes.push(await discoveryPlane({ redisUrl: redis.url }, options));
  });
  afterAll(async () => {
    for (const n of nodes ?? []) await n.stop();
    await redis?.stop();
  });

  it('shows a rule made on node 1 on nodes 2 and 3 within 1 s, and its deletion too', async () => {
    const [n1, n2, n3] = nodes as [DiscoveryPlane, DiscoveryPlane, DiscoveryPlane];
    expect((await n1.op('monitoring.alerts.save', { rule: rule(50) })).status).toBe(200);
    const savedAt = Date.now();
    await until(
      () => heldBy(n2, 'many-connections')?.threshold === 50 && heldBy(n3, 'many-connections')?.threshold === 50,
      1_000,
      'the rule on nodes 2 and 3',
    );
    expect(Date.now() - savedAt).toBeLessThan(1_000);
    expect((await ruleOn(n3, 'many-connections'))?.threshold).toBe(50);

    expect((await n2.op('monitoring.alerts.delete', { id: 'many-connections' })).status).toBe(200);
    await until(() => heldBy(n1, 'many-connections') === undefined && heldBy(n3, 'many-connections') === undefined, 1_000, 'the rule gone');
    expect(await ruleOn(n1, 'many-connections')).toBeUndefined();
  });

  it('silences and acknowledges a rule on every node: made on node 1, held by nodes 2 and 3 within 1 s', async () => {
    const [n1, n2, n3] = nodes as [DiscoveryPlane, DiscoveryPlane, DiscoveryPlane];
    expect((await n1.op('monitoring.alerts.save', { rule: rule(1_000_000, 'quiet-rule') })).status).toBe(200);
    expect((await n1.op('monitoring.alerts.silence', { ruleId: 'quiet-rule', seconds: 3600 })).status).toBe(200);
    expect((await n1.op('monitoring.alerts.acknowledge', { ruleId: 'quiet-rule' })).status).toBe(200);
    const silencedOn = (node: DiscoveryPlane) => node.plane.running.monitoring.alerts.silences.isSilenced('quiet-rule', Date.now());
    await until(() => silencedOn(n2) && silencedOn(n3), 1_000, 'the silence on nodes 2 and 3');
    const status = (await n3.op('monitoring.alerts')).body.status.find((s: { ruleId: string }) => s.ruleId === 'quiet-rule');
    expect(status.silence).toMatchObject({ silencedBy: expect.stringMatching(/^key:/), acknowledgedBy: expect.stringMatching(/^key:/) });

    expect((await n2.op('monitoring.alerts.silence', { ruleId: 'quiet-rule', seconds: 0 })).status).toBe(200);
    await until(() => !silencedOn(n1) && !silencedOn(n3), 1_000, 'the silence lifted on nodes 1 and 3');
    expect((await n2.op('monitoring.alerts.delete', { id: 'quiet-rule' })).status).toBe(200);
    await until(() => n3.plane.running.monitoring.alerts.silences.get('quiet-rule') === null, 1_000, 'the record gone with its rule');
  });

  it('edits a built-in rule on one node and every node takes the edit over its own seeded copy', async () => {
    const [n1, n2, n3] = nodes as [DiscoveryPlane, DiscoveryPlane, DiscoveryPlane];
    const builtin = (await n3.op('monitoring.alerts')).body.rules.find((r: { id: string }) => r.id === 'job-backlog');
    await n3.op('monitoring.alerts.save', { rule: { ...builtin, threshold: 5000 } });
    await until(
      () => heldBy(n1, 'job-backlog')?.threshold === 5000 && heldBy(n2, 'job-backlog')?.threshold === 5000,
      1_000,
      'the edited built-in rule everywhere',
    );
  });

  it('converges to one value everywhere when three nodes edit the same rule at once', async () => {
    for (let round = 0; round < 5; round += 1) {
      await Promise.all(nodes.map((n, i) => n.op('monitoring.alerts.save', { rule: rule(1000 * round + i, 'contended') })));
    }
    await until(
      async () => {
        const seen = await Promise.all(nodes.map((n) => ruleOn(n, 'contended')));
        return seen.every((r) => r !== undefined && r.threshold === seen[0]!.threshold);
      },
      2_000,
      'one threshold on every node',
    );
    const final = (await ruleOn(nodes[0]!, 'contended'))!.threshold;
    // The winner is one of the last round's writes, not an older one that arrived late.
    expect(final).toBeGreaterThanOrEqual(4000);
  });

  it("shares a service's balancing policy set on node 2 with nodes 1 and 3 within 1 s", async () => {
    const [n1, n2, n3] = nodes as [DiscoveryPlane, DiscoveryPlane, DiscoveryPlane];
    const res = await n2.op('services.configure', {
      name: 'checkout',
      strategy: 'consistent-hash',
      hashHeader: 'X-User',
      outlier: { consecutiveFailures: 7 },
    });
    expect(res.status).toBe(200);
    const policy = (n: DiscoveryPlane) => n.plane.running.discovery.registry.policy('checkout');
    await until(
      () => policy(n1).strategy === 'consistent-hash' && policy(n3).strategy === 'consistent-hash',
      1_000,
      'the policy on nodes 1 and 3',
    );
    expect(policy(n3)).toEqual(policy(n2));
    expect(policy(n1)).toMatchObject({ hashHeader: 'x-user', outlier: { consecutiveFailures: 7 } });
  });

  it('refills a Redis that came back empty from the nodes’ own copies, so a node that starts later gets the rules', async () => {
    const [n1] = nodes as [DiscoveryPlane];
    await n1.op('monitoring.alerts.save', { rule: rule(77, 'survives-redis-loss') });
    await until(async () => (await ruleOn(nodes[2]!, 'survives-redis-loss'))?.threshold === 77, 1_000, 'rule shared');
    const emptied = nodes.map(() => 0);
    const unsubscribe = nodes.map((n, i) =>
      n.plane.running.bus.subscribe((m) => {
        if (m.event === 'fleet.redis' && m.payload.kind === 'emptied') emptied[i] = (emptied[i] ?? 0) + 1;
      }),
    );
    await redis.kill();
    await redis.restart();
    const check = redis.client();
    await until(
      async () => (await check.hexists('ph:fleet:alert-rules:records', 'survives-redis-loss')) === 1,
      5_000,
      'the rule back in Redis',
    );
    // One epoch key for the whole node: the loss is seen once by every node, whichever part of it looks.
    await until(() => emptied.every((n) => n > 0), 5_000, 'every node to see the loss');
    expect(emptied).toEqual([1, 1, 1]);
    expect(await check.exists('ph:fleet:epoch')).toBe(0);
    expect(await check.exists('pilothouse:epoch')).toBe(1);
    for (const u of unsubscribe) u();
    const late = await discoveryPlane({ redisUrl: redis.url }, options);
    try {
      expect((await ruleOn(late, 'survives-redis-loss'))?.threshold).toBe(77);
      expect(late.plane.running.discovery.registry.policy('checkout').strategy).toBe('consistent-hash');
    } finally {
      await late.stop();
    }
  });

  it('reads only what changed since it last read: after a reconnect a node reads the one new record, not the whole hash', async () => {
    const [n1, n2] = nodes as [DiscoveryPlane, DiscoveryPlane];
    const read = (n: DiscoveryPlane): number =>
      Number(/(\d+) entries read/.exec(n.plane.status().services.find((s) => s.name === 'fleet-alert-rules')?.detail ?? '')?.[1] ?? NaN);
    const start = read(n2);
    for (let i = 0; i < 20; i += 1) expect((await n1.op('monitoring.alerts.save', { rule: rule(i, `bulk-${i}`) })).status).toBe(200);
    // The live messages bring the rules; the log read (every 200 ms here) reads each of them once.
    await until(() => read(n2) >= start + 20, 3_000, 'node 2 to read the 20 new records');
    const baseline = read(n2);
    expect(baseline).toBe(start + 20);
    // Every client of the fleet's Redis cut: each node reconnects and syncs.
    await redis.client().client('KILL', 'TYPE', 'normal');
    await until(async () => (await n1.op('monitoring.alerts.save', { rule: rule(99, 'after-reconnect') })).status === 200, 5_000, 'a save');
    await until(() => heldBy(n2, 'after-reconnect') !== undefined && read(n2) > baseline, 5_000, 'the new record read on node 2');
    expect(read(n2)).toBe(baseline + 1);
    expect(await redis.client().hlen('ph:fleet:alert-rules:records')).toBeGreaterThan(21);
  });

  it('replaces a record planted in the shared hash without the fleet secret, whatever version it claims', async () => {
    const [n1, n2] = nodes as [DiscoveryPlane, DiscoveryPlane];
    await n1.op('monitoring.alerts.save', { rule: rule(5, 'planted') });
    await until(() => heldBy(n2, 'planted')?.threshold === 5, 1_000, 'rule shared');
    const intruder = redis.client();
    const forged = { id: 'planted', version: 'ffffffffffff.ffff.evil', value: { ...rule(0, 'planted'), enabled: false } };
    await intruder.hset('ph:fleet:alert-rules:records', 'planted', `${forged.version}|${JSON.stringify(forged)}`);
    await intruder.del('pilothouse:epoch'); // as after a flush: every node sees it and re-syncs
    await until(
      async () => !((await intruder.hget('ph:fleet:alert-rules:records', 'planted')) ?? 'ffff').startsWith('ffff'),
      5_000,
      'the planted record replaced',
    );
    for (const n of nodes) expect(heldBy(n, 'planted')).toMatchObject({ threshold: 5, enabled: true });
  });
});
