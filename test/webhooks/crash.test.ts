import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { opOn, startPlaneProcess } from './plane-process';
import { startReceiver } from './receiver';

describe('webhook delivery across a crash', () => {
  const dir = tempDir('ph-webhook-crash-');
  afterAll(() => dir.remove());

  it('loses no delivery when the delivering process is killed -9 between retries: the next start delivers it once', async () => {
    const rx = await startReceiver();
    rx.answer = () => ({ status: 503 });
    const first = await startPlaneProcess(dir.path);
    let plane: ControlPlane | null = null;
    try {
      const key = readFileSync(join(dir.path, 'admin.key'), 'utf8').trim();
      const { endpoint } = await opOn(first.url, key, 'webhooks.create', { url: rx.url, eventTypes: ['webhook.ping'] });
      const { delivery } = await opOn(first.url, key, 'webhooks.test', { id: endpoint.id });
      // Mid-retry: the first attempt failed and is logged, the next one waits in the queue.
      await until(
        async () => (await opOn(first.url, key, 'webhooks.deliveries', { endpointId: endpoint.id })).deliveries[0]?.status === 'retrying',
        10_000,
        'a first, failed attempt',
      );
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      rx.answer = () => ({ status: 200 });

      const config = { ...defaultConfig(dir.path), port: 0, logLevel: 'silent' as const };
      plane = new ControlPlane(
        { config, sources: ['test'] },
        { mode: 'headless', logger: createLogger('silent'), webhooks: { baseDelayMs: 400, maxDelayMs: 800 } },
      );
      await plane.start();
      const restarted = plane;
      await until(
        () => restarted.running.webhooks.deliveries.row(delivery.id)?.status === 'delivered',
        15_000,
        'the delivery after restart',
      );
      const delivered = rx.received.filter((r) => r.status === 200);
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.headers['webhook-id']).toBe(delivery.eventId);
      const log = restarted.running.webhooks.deliveries.toDelivery(restarted.running.webhooks.deliveries.mustRow(delivery.id)).log;
      expect(log.length).toBeGreaterThanOrEqual(2);
      expect(log[0]!.statusCode).toBe(503);
      expect(log.at(-1)!.statusCode).toBe(200);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      await plane?.stop();
      await rx.close();
    }
  }, 60_000);
});
