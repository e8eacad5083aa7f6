/**
 * The worker process of the saga crash test: opens the database given in argv, runs sagas from the
 * queue and tells the parent (over IPC) when it has started. The parent kills it with SIGKILL.
 */
import pino from 'pino';
import { SqliteJobQueue, batchMigrations } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { Sagas, sagaMigrations } from '../../main/sagas';
import { openStore } from '../../main/store';
import { crashSaga } from './crash-saga';

const [path] = process.argv.slice(2);
const db = openStore({ path: path as string, migrations: [...batchMigrations, ...sagaMigrations] });
const logger = pino({ level: 'error' }, pino.destination(2));
// A short lease: the next worker takes over a killed one's saga about a second later.
const queue = new SqliteJobQueue(db, systemClock, logger, null, { pollMs: 50, leaseMs: 1_000 });
new Sagas({ db, clock: systemClock, queue, bus: null, logger }).register(crashSaga(db));

// The queue's timers are unref'd (a service must not hold its host open); this script is the host.
const keepAlive = setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void queue.stop().then(() => {
    db.close();
    process.exit(0);
  });
});
void queue.start().then(() => process.send?.('ready'));
