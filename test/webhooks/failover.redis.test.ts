import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { fleetSecretFor } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { opOn, startPlaneProcess } from './plane-process';
import { startReceiver, verifyAsDocumented, type Receiver } from './receiver';

const quickRetries = { webhooks: { baseDelayMs: 400, maxDelayMs: 800 } };

describe('webhook delivery when the delivering node dies, on one Redis', () => {
  let redis: TestRedis;
  let rx: Receiver;
  let b: TestPlane | null = null;
  let restartedA: ControlPlane | null = null;
  const dirA = tempDir('ph-webhook-failover-');
  beforeAll(async () => {
    redis = await startRedis();
    rx = await startReceiver();
  });
  afterAll(async () => {
    await restartedA?.stop();
    await b?.stop();
    await rx?.close();
    await redis?.stop();
    dirA.remove();
  });

  it('lets another node finish a delivery whose node was killed -9 mid-retry: delivered once, signed, every try in the log of both nodes, and the dead node agrees when it returns', async () => {
    rx.answer = () => ({ status: 503 });
    const a = await startPlaneProcess(dirA.path, redis.url);
    let secret: string;
    let delivery: { id: string; eventId: string };
    try {
      const keyA = readFileSync(join(dirA.path, 'admin.key'), 'utf8').trim();
      const created = await opOn(a.url, keyA, 'webhooks.create', { url: rx.url, eventTypes: ['webhook.ping'] });
      secret = created.secret as string;
      delivery = (await opOn(a.url, keyA, 'webhooks.test', { id: created.endpoint.id })).delivery;
      // A is the only node: it made the first, failed try, and retries.
      await until(
        async () =>
          (await opOn(a.url, keyA, 'webhooks.deliveries', { endpointId: created.endpoint.id })).deliveries[0]?.status === 'retrying',
        30_000,
        'a first, failed attempt on node A',
      );

      b = await startTestPlane({ redisUrl: redis.url }, quickRetries);
      const nodeB = b;
      // The endpoint and its secret reach B through the fleet-wide table.
      await until(
        async () =>
          ((await nodeB.op('webhooks.list')).body.endpoints as { id: string; activeSecrets: number }[]).some(
            (e) => e.id === created.endpoint.id && e.activeSecrets === 1,
          ),
        30_000,
        'the endpoint and its secret on node B',
      );
      a.child.kill('SIGKILL');
      await new Promise((r) => a.child.once('exit', r));
    } catch (err) {
      a.child.kill('SIGKILL');
      throw err;
    }
    rx.answer = () => ({ status: 200 });

    // The retry A had queued is on the shared queue: B takes it when it is due (or once A's lock lapses).
    await until(() => rx.received.some((r) => r.status === 200), 60_000, 'the delivery from node B');
    const nodeB = b as TestPlane;
    await until(() => nodeB.plane.running.webhooks.deliveries.row(delivery.id)?.status === 'delivered', 10_000, 'B records it');
    const ok = rx.received.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.headers['webhook-id']).toBe(delivery.eventId);
    expect(verifyAsDocumented(secret, ok[0]!.headers, ok[0]!.body)).toBe(true);
    expect(rx.received.every((r) => r.headers['webhook-id'] === delivery.eventId)).toBe(true);
    // B's log is the whole delivery's: the tries A made before it died come first, then B's, numbered without a gap.
    const logOf = (plane: ControlPlane) =>
      plane.running.webhooks.deliveries.toDelivery(plane.running.webhooks.deliveries.mustRow(delivery.id)).log;
    const logB = logOf(nodeB.plane);
    expect(logB.map((a) => a.attempt)).toEqual(logB.map((_, i) => i + 1));
    expect(logB[0]!.statusCode).toBe(503);
    expect(logB.at(-1)!.statusCode).toBe(200);

    // A comes back on the same data dir: it learns the delivery ended from the fleet and sends nothing more.
    const config = {
      ...defaultConfig(dirA.path),
      port: 0,
      logLevel: 'silent' as const,
      redisUrl: redis.url,
      ...fleetSecretFor({ redisUrl: redis.url }),
    };
    restartedA = new ControlPlane({ config, sources: ['test'] }, { mode: 'headless', logger: createLogger('silent'), ...quickRetries });
    await restartedA.start();
    const back = restartedA;
    await until(() => back.running.webhooks.deliveries.row(delivery.id)?.status === 'delivered', 15_000, 'A learns it was delivered');
    // A's log holds B's tries too (including those whose news went by while A was dead): the same log as B's.
    expect(logOf(back)).toEqual(logB);
    expect(rx.received.filter((r) => r.status === 200)).toHaveLength(1);
    // A child node compiles main/ through tsx, and a try cut off by the kill waits for BullMQ's lock (30 s) to lapse.
  }, 120_000);

  it('keeps endpoint secrets out of Redis and out of the fleet copy in SQLite in clear', async () => {
    b ??= await startTestPlane({ redisUrl: redis.url }, quickRetries);
    const nodeB = b;
    const { secret } = (await nodeB.op('webhooks.create', { url: rx.url, eventTypes: ['job.finished'] })).body as { secret: string };
    const client = redis.client();
    await until(async () => (await client.hlen('ph:fleet:webhook-endpoints:records')) >= 2, 10_000, 'the endpoint in the fleet hash');
    const inRedis = JSON.stringify(await client.hgetall('ph:fleet:webhook-endpoints:records'));
    expect(inRedis).not.toContain(secret);
    expect(inRedis).not.toContain(secret.replace(/^whsec_/, ''));
    const db = new Database(join(nodeB.dataDir, 'pilothouse.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT value FROM fleet_records WHERE tbl = 'webhook-endpoints'").all() as { value: string }[];
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows.some((r) => r.value.includes('"secrets":"v1.'))).toBe(true);
      expect(rows.every((r) => !r.value.includes(secret.replace(/^whsec_/, '')))).toBe(true);
    } finally {
      db.close();
    }
  });
});
