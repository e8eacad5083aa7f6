import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { freePort } from '../helpers/redis-server';
import { selfSignedCertificate, startRedisProcess, startSentinelSet, type RedisProcess } from '../helpers/redis-variants';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { RawClient } from '../realtime/helpers';

async function putCache(t: TestPlane, key: string, value: unknown): Promise<number> {
  const res = await fetch(`${t.url}/api/v2/cache/fleet/${key}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ value }),
  });
  return res.status;
}

async function redisStatus(t: TestPlane): Promise<{ connected: boolean; status: string }> {
  return (await t.op('system.status')).body.redis;
}

describe('Redis with a password, an ACL user and TLS', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function server(args: string[], connect = {}): Promise<RedisProcess> {
    const dir = tempDir('ph-redis-auth-');
    const redis = await startRedisProcess(await freePort(), dir.path, args, connect);
    cleanups.push(
      () => redis.stop(),
      () => dir.remove(),
    );
    return redis;
  }

  async function plane(overrides: Parameters<typeof startTestPlane>[0]): Promise<TestPlane> {
    const t = await startTestPlane(overrides);
    cleanups.push(() => t.stop());
    return t;
  }

  it('authenticates with the password in the URL (requirepass); a wrong one refuses the start without showing it', async () => {
    const redis = await server(['--requirepass', 'pw-for-the-fleet'], { password: 'pw-for-the-fleet' });
    const good = await plane({ redisUrl: `redis://:pw-for-the-fleet@127.0.0.1:${redis.port}` });
    expect((await redisStatus(good)).connected).toBe(true);
    expect(await putCache(good, 'a', 1)).toBe(204);
    expect(await redis.client().exists('ph:cache:e:fleet:a')).toBe(1);
    expect(JSON.stringify((await good.op('system.config')).body)).not.toContain('pw-for-the-fleet');

    const refused = await startTestPlane({ redisUrl: `redis://:not-the-password@127.0.0.1:${redis.port}` }).catch((err: unknown) => err);
    expect(refused).toMatchObject({
      code: 'PH_CONFIG_INVALID',
      field: 'redisUrl',
      message: expect.stringContaining('refused the user or password'),
    });
    expect((refused as Error).message).not.toContain('not-the-password');
  });

  it('connects as an ACL user limited to the ph: keys and channels, with the default user off', async () => {
    const redis = await server(
      [
        '--user',
        'admin',
        'on',
        '>admin-pw',
        '~*',
        '&*',
        '+@all',
        '--user',
        'ph',
        'on',
        '>ph-pw',
        '~ph:*',
        '&ph:*',
        '+@all',
        '--user',
        'default',
        'off',
      ],
      { username: 'admin', password: 'admin-pw' },
    );
    const a = await plane({ redisUrl: `redis://ph:ph-pw@127.0.0.1:${redis.port}` });
    const b = await plane({ redisUrl: `redis://ph:ph-pw@127.0.0.1:${redis.port}` });
    expect((await redisStatus(a)).connected).toBe(true);
    expect(await putCache(a, 'acl', 'v1')).toBe(204);
    expect(await redis.client().exists('ph:cache:e:fleet:acl')).toBe(1);
    // The registry and its signed channel work for that user too: an instance made on a reaches b.
    await a.op('services.register', {
      name: 'acl-svc',
      id: 'acl-1',
      address: '127.0.0.1',
      port: 9,
      checks: [{ kind: 'ttl', ttlMs: 60_000 }],
    });
    await until(async () => (await b.op('services.get', { id: 'acl-1' })).status === 200, 3_000, 'instance on b');
  });

  it('speaks TLS with rediss:// and the CA file, and refuses a server whose certificate it cannot check', async () => {
    const dir = tempDir('ph-redis-tls-');
    cleanups.push(() => dir.remove());
    const { cert, key, ca } = selfSignedCertificate(dir.path);
    const caFile = join(dir.path, 'ca.pem');
    writeFileSync(caFile, ca);
    const tlsPort = await freePort();
    const redis = await server(
      [
        '--port',
        '0',
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-ca-cert-file',
        cert,
        '--tls-auth-clients',
        'no',
      ],
      { port: tlsPort, tls: { ca } },
    );
    const secure = await plane({ redisUrl: `rediss://127.0.0.1:${tlsPort}`, redisCaFile: caFile });
    expect((await redisStatus(secure)).connected).toBe(true);
    expect(await putCache(secure, 'tls', 'over tls')).toBe(204);
    expect(await redis.client().exists('ph:cache:e:fleet:tls')).toBe(1);

    // Without the CA, a server that anyone could have made up is refused rather than trusted.
    const refused = await startTestPlane({ redisUrl: `rediss://127.0.0.1:${tlsPort}` }).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'PH_CONFIG_INVALID', field: 'redisUrl', message: expect.stringContaining('redisCaFile') });
  });
});

describe('Redis through Sentinel', () => {
  it('follows a failover to the new master and keeps caching and publishing', async () => {
    const set = await startSentinelSet();
    const t = await startTestPlane({ redisSentinels: set.sentinels, redisSentinelName: set.name });
    try {
      expect((await redisStatus(t)).connected).toBe(true);
      expect(await putCache(t, 'before', 1)).toBe(204);
      expect(await set.master.client().exists('ph:cache:e:fleet:before')).toBe(1);

      const sub = await RawClient.connect(`${t.url.replace('http', 'ws')}/ws`, t.adminKey);
      await sub.request({ type: 'subscribe', room: 'failover' });
      const pub = await RawClient.connect(`${t.url.replace('http', 'ws')}/ws`, t.adminKey);

      const newMaster = await set.failover();
      expect(newMaster).toBe(set.replica.port);
      const promoted = set.replica.client();
      await until(
        async () => (await putCache(t, 'after', 2)) === 204 && (await promoted.exists('ph:cache:e:fleet:after')) === 1,
        15_000,
        'a cache write on the new master',
      );
      // Neither the Sentinels nor the master they named (after the failover: the promoted replica) may be a check's target.
      const sentinelPorts = set.sentinels.split(',').map((hostPort) => Number(hostPort.split(':')[1]));
      const register = async (port: number) =>
        (await t.op('services.register', { name: 'probe', id: `probe-${port}`, address: '127.0.0.1', port, checks: [{ kind: 'tcp' }] }))
          .body.error?.code;
      for (const port of sentinelPorts) expect(await register(port), `sentinel ${port}`).toBe('PH_DISCOVERY_TARGET_FORBIDDEN');
      // The master as the node's client follows it: refused once the client is connected there.
      await until(async () => (await register(set.replica.port)) === 'PH_DISCOVERY_TARGET_FORBIDDEN', 10_000, 'the new master refused');
      // Pub/sub is at most once: a message sent while the subscriber reconnects may pass it by, so
      // publish until one arrives; the point is that publishing works again on the new master.
      let received: any = null;
      for (let i = 0; received === null && i < 30; i += 1) {
        const reply = await pub.request({ type: 'publish', room: 'failover', data: `after-${i}` });
        if (reply.type !== 'reply') continue;
        received = await sub.next((f) => f.type === 'message' && String(f.data).startsWith('after-'), 500).catch(() => null);
      }
      expect(received).toMatchObject({ room: 'failover' });
      sub.close();
      pub.close();
    } finally {
      await t.stop();
      await set.stop();
    }
  });
});
