import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetPolicy } from '../../main/discovery';
import { webhookReach } from '../../main/webhooks';
import { discoveryPlane, upstream, type DiscoveryPlane, type Upstream } from '../discovery/helpers';
import { startRedis, type TestRedis } from '../helpers/redis-server';

/**
 * One address, many spellings: IPv6 writes 127.0.0.1 as `::ffff:7f00:1` or
 * `0:0:0:0:0:ffff:127.0.0.1`, and ::1 as `0000::1`. A security trial reached the node's own API
 * and its Redis with such spellings through instances, checks, the gateway and webhooks, because
 * the checks compared text; and an address with a zone id (`::1%lo`) registered, then broke the
 * gateway with a 500.
 */
const LOOPBACK_SPELLINGS = ['::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '0:0:0:0:0:ffff:127.0.0.1', '0:0:0:0:0:0:0:1', '0000::1'];
/** IPv4 as inet_aton and URL parsing also read it: each of these is 127.0.0.1. */
const IPV4_LOOPBACK_SPELLINGS = ['2130706433', '0x7f.0.0.1', '0177.0.0.1', '127.1', '127.0.0.1.', '0x7f000001'];

describe('every spelling of an address is checked as that address, against a running node with Redis', () => {
  let redis: TestRedis;
  let p: DiscoveryPlane;
  let internal: Upstream;
  let own: number;
  beforeAll(async () => {
    redis = await startRedis();
    p = await discoveryPlane({ redisUrl: redis.url });
    internal = await upstream('internal');
    own = Number(new URL(p.url).port);
  });
  afterAll(async () => {
    await internal.close();
    await p.stop();
    await redis.stop();
  });

  const forbidden = { status: 403, body: { error: { code: 'PH_DISCOVERY_TARGET_FORBIDDEN' } } };

  it("refuses the node's own API as an instance address in any spelling of loopback", async () => {
    for (const address of LOOPBACK_SPELLINGS) {
      const res = await p.op('services.register', { name: 'self', address, port: own, checks: [] });
      expect(res, address).toMatchObject(forbidden);
      expect(res.body.error.message, address).toMatch(/own API/);
    }
  });

  it("refuses the node's own API and its Redis as a TCP check host in any spelling of loopback", async () => {
    for (const host of LOOPBACK_SPELLINGS) {
      for (const [port, why] of [
        [own, /own API/],
        [redis.port, /Redis/],
      ] as const) {
        const res = await p.op('services.register', {
          name: 'scan',
          address: '127.0.0.1',
          port: internal.port,
          checks: [{ kind: 'tcp', host, port }],
        });
        expect(res, `${host}:${port}`).toMatchObject(forbidden);
        expect(res.body.error.message, `${host}:${port}`).toMatch(why);
      }
    }
  });

  it("refuses the node's own API as an HTTP check URL in any spelling, the one URL parsing rewrites too", async () => {
    for (const host of [...LOOPBACK_SPELLINGS, '::ffff:127.0.0.1']) {
      const url = `http://[${host}]:${own}/api/v2/ops/keys.list`;
      const res = await p.op('services.register', {
        name: 'scan',
        address: '127.0.0.1',
        port: internal.port,
        checks: [{ kind: 'http', url }],
      });
      expect(res, url).toMatchObject(forbidden);
    }
  });

  it("refuses the node's own API and its Redis in the other IPv4 spellings (decimal, hex, octal, short, final dot) at registration", async () => {
    for (const host of IPV4_LOOPBACK_SPELLINGS) {
      const asInstance = await p.op('services.register', { name: 'self', address: host, port: own, checks: [] });
      expect(asInstance, host).toMatchObject(forbidden);
      expect(asInstance.body.error.message, host).toMatch(/own API/);
      for (const [port, why] of [
        [own, /own API/],
        [redis.port, /Redis/],
      ] as const) {
        const asCheck = await p.op('services.register', {
          name: 'scan',
          address: '127.0.0.1',
          port: internal.port,
          checks: [{ kind: 'tcp', host, port }],
        });
        expect(asCheck, `${host}:${port}`).toMatchObject(forbidden);
        expect(asCheck.body.error.message, `${host}:${port}`).toMatch(why);
      }
    }
    expect((await p.op('services.list', { name: 'self' })).body.instances).toHaveLength(0);
    expect((await p.op('services.list', { name: 'scan' })).body.instances).toHaveLength(0);
  });

  it('refuses an address with a zone id at registration, as an instance address and a TCP check host', async () => {
    const asInstance = await p.op('services.register', { name: 'zoned', address: '::1%lo', port: internal.port, checks: [] });
    expect(asInstance).toMatchObject(forbidden);
    expect(asInstance.body.error.message).toMatch(/zone id/);
    const asCheck = await p.op('services.register', {
      name: 'zoned',
      address: '127.0.0.1',
      port: internal.port,
      checks: [{ kind: 'tcp', host: '::1%lo', port: internal.port }],
    });
    expect(asCheck).toMatchObject(forbidden);
    expect((await p.op('services.list', { name: 'zoned' })).body.instances).toHaveLength(0);
  });

  it("refuses a webhook to the node's own API or its Redis in any spelling of loopback", async () => {
    for (const host of LOOPBACK_SPELLINGS) {
      for (const port of [own, redis.port]) {
        const url = `http://[${host}]:${port}/x`;
        const res = await p.op('webhooks.create', { url, eventTypes: ['webhook.ping'] });
        expect(res, url).toMatchObject({ status: 400, body: { error: { code: 'PH_WEBHOOK_TARGET_REFUSED' } } });
      }
    }
    expect((await p.op('webhooks.list')).body.endpoints).toHaveLength(0);
  });

  it("refuses a backup replica on the node's own API in any spelling of loopback", async () => {
    const s3 = { name: 'self', kind: 's3', bucket: 'backups', accessKeyId: 'a', secretAccessKey: 'b' };
    for (const host of LOOPBACK_SPELLINGS) {
      const endpoint = `http://[${host}]:${own}`;
      const res = await p.op('backup.replicas.add', { ...s3, endpoint });
      expect(res, endpoint).toMatchObject({ status: 400, body: { error: { code: 'PH_BACKUP_REPLICA_REFUSED' } } });
    }
  });

  it('registers, proxies to and sends webhooks to an allowed target written in another spelling', async () => {
    const lan = await p.op('services.register', { name: 'lan', address: '::ffff:c0a8:114', port: 8080, checks: [] });
    expect(lan.status).toBe(200);
    const spelled = await p.op('services.register', { name: 'spelled', address: '::ffff:7f00:1', port: internal.port, checks: [] });
    expect(spelled.status).toBe(200);
    const gatewayKey = await p.key('viewer', ['gateway:spelled']);
    const before = internal.requests.length;
    const res = await p.fetch('/gw/spelled/x', { key: gatewayKey });
    expect(res.status).toBe(200);
    expect(internal.requests.slice(before).map((r) => r.url)).toEqual(['/x']);
    const hook = await p.op('webhooks.create', { url: `http://[::ffff:7f00:1]:${internal.port}/hook`, eventTypes: ['webhook.ping'] });
    expect(hook.status).toBe(200);
  });
});

describe('the outbound-reach policy on address spellings', () => {
  it('answers the gateway and deliveries with the canonical address, and refuses a zone id with its code', () => {
    const policy = new TargetPolicy({ allowed: ['127.0.0.0/8', '::1/128', '192.168.0.0/16'], ownHttpPort: () => 7420, redis: null });
    expect(policy.resolveNow('[0:0:0:0:0:ffff:c0a8:114]', 80)).toEqual({ address: '192.168.1.20', family: 4 });
    expect(policy.resolveNow('0000:0:0::0001', 8080)).toEqual({ address: '::1', family: 6 });
    expect(() => policy.resolveNow('::1%lo', 8080)).toThrow(expect.objectContaining({ code: 'PH_DISCOVERY_TARGET_FORBIDDEN' }));
    expect(() => policy.resolveNow('[0:0:0:0:0:0:0:1]', 7420)).toThrow(/own API/);
  });

  it("refuses a delivery to the node's own port or its Redis however the address or the Redis URL spells it", () => {
    const delivery = webhookReach({ allowCidrs: [], ownPort: () => 7420, redis: { host: '[::ffff:7f00:1]', port: 6390 } });
    for (const address of LOOPBACK_SPELLINGS) expect(delivery.refusal(address, 7420), address).toMatch(/own API/);
    for (const address of ['127.0.0.1', ...LOOPBACK_SPELLINGS]) expect(delivery.refusal(address, 6390), address).toMatch(/Redis/);
    expect(delivery.refusal('::1%lo', 8080)).toMatch(/zone id/);
    expect(delivery.refusal('::ffff:7f00:1', 8080)).toBeNull();
  });
});
