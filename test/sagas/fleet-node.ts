/**
 * One node of the saga fleet test, as its own process: its own SQLite, the shared job queue on the
 * fleet's Redis (BullMQ, sealed with the fleet secret), the Redis epoch, and the sagas on Redis, as
 * the control plane wires them. argv: data dir, Redis URL, node id, the shared effects database.
 * It answers `start`, `get` and `list` from the parent over IPC; the parent kills it with SIGKILL.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { BullmqJobQueue, batchMigrations } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { FleetSeal, RedisEpoch } from '../../main/fleet';
import { Sagas, sagaMigrations } from '../../main/sagas';
import { openStore } from '../../main/store';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { CRASH_TABLES, crashSaga } from './crash-saga';

export interface NodeRequest {
  readonly seq: number;
  readonly op: 'start' | 'get' | 'list';
  readonly input: unknown;
}
export type NodeReply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; code: string; message: string };

const [dataDir, redisUrl, nodeId, effectsPath] = process.argv.slice(2) as [string, string, string, string];
const db = openStore({ path: join(dataDir, 'pilothouse.db'), migrations: [...batchMigrations, ...sagaMigrations] });
const effects = openStore({ path: effectsPath, migrations: [] });
effects.exec(CRASH_TABLES);
const logger = pino({ level: 'error' }, pino.destination(2));
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const seal = new FleetSeal({ secret: TEST_FLEET_SECRET, nodeId, clock: systemClock, logger });
const epoch = new RedisEpoch(redis, dataDir, systemClock, logger, { checkMs: 200 });
// A short lock: a killed node's saga job is taken over by a live node a second or two later.
const queue = new BullmqJobQueue(redis, db, systemClock, logger, null, seal, {
  nodeId,
  epoch,
  lockMs: 1_000,
  stalledIntervalMs: 500,
  nodeTtlMs: 1_000,
  outboxSweepMs: 200,
});
const sagas = new Sagas({ db, clock: systemClock, queue, bus: null, logger, fleet: { redis, seal, epoch } }).register(crashSaga(effects));

process.on('message', (m: NodeRequest) => {
  const run = async (): Promise<unknown> => {
    if (m.op === 'start') return sagas.start(m.input as { type: string });
    if (m.op === 'get') return sagas.get(m.input as string);
    return sagas.list({});
  };
  run().then(
    (value) => process.send?.({ seq: m.seq, ok: true, value } satisfies NodeReply),
    (err: { code?: string; message?: string }) =>
      process.send?.({ seq: m.seq, ok: false, code: err.code ?? 'ERR', message: err.message ?? String(err) } satisfies NodeReply),
  );
});

// The queue's timers are unref'd (a service must not hold its host open); this script is the host.
const keepAlive = setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void (async () => {
    await queue.stop();
    await epoch.stop();
    redis.disconnect();
    db.close();
    effects.close();
    process.exit(0);
  })();
});
void (async () => {
  await epoch.start();
  await queue.start();
  await epoch.watch();
  process.send?.('ready');
})();
