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
    await redis.kill();
    await redis.restart();
    const check = redis.client();
    await until(
      async () => (await check.hexists('ph:fleet:alert-rules:records', 'survives-redis-loss')) === 1,
      5_000,
      'the rule back in Redis',
    );
    const late = await discoveryPlane({ redisUrl: redis.url }, options);
    try {
      expect((await ruleOn(late, 'survives-redis-loss'))?.threshold).toBe(77);
      expect(late.plane.running.discovery.registry.policy('checkout').strategy).toBe('consistent-hash');
    } finally {
      await late.stop();
    }
  });

  it('replaces a record planted in the shared hash without the fleet secret, whatever version it claims', async () => {
    const [n1, n2] = nodes as [DiscoveryPlane, DiscoveryPlane];
    await n1.op('monitoring.alerts.save', { rule: rule(5, 'planted') });
    await until(() => heldBy(n2, 'planted')?.threshold === 5, 1_000, 'rule shared');
    const intruder = redis.client();
    const forged = { id: 'planted', version: 'ffffffffffff.ffff.evil', value: { ...rule(0, 'planted'), enabled: false } };
    await intruder.hset('ph:fleet:alert-rules:records', 'planted', `${forged.version}|${JSON.stringify(forged)}`);
    await intruder.del('ph:fleet:epoch'); // as after a flush: every node re-syncs
    await until(
      async () => !((await intruder.hget('ph:fleet:alert-rules:records', 'planted')) ?? 'ffff').startsWith('ffff'),
      5_000,
      'the planted record replaced',
    );
    for (const n of nodes) expect(heldBy(n, 'planted')).toMatchObject({ threshold: 5, enabled: true });
  });
});
