/**
 * The worker process of the crash test: opens the database given in argv, works `crash.work` jobs
 * at the given concurrency and tells the parent (over IPC) when it has started. The parent kills it
 * with SIGKILL; nothing here gets a chance to clean up, which is the point.
 */
import { SqliteJobQueue, batchMigrations } from '../../main/batch';
import { systemClock } from '../../main/clock';
import pino from 'pino';
import { openStore } from '../../main/store';

const [path, concurrencyText] = process.argv.slice(2);
const db = openStore({ path: path as string, migrations: batchMigrations });
// Errors go to stderr (inherited by the test); stdout is not read.
const queue = new SqliteJobQueue(db, systemClock, pino({ level: 'error' }, pino.destination(2)), null, {
  pollMs: 50,
  prune: { keepCompletedCount: 1_000_000 },
});
const recordStart = db.prepare('INSERT INTO crash_starts (job_id, at, pid) VALUES (?, ?, ?)');

queue.register(
  'crash.work',
  async (payload, ctx) => {
    recordStart.run(Number(ctx.id), Date.now(), process.pid);
    await new Promise((r) => setTimeout(r, (payload as { ms: number }).ms));
    if (ctx.idempotencyKey !== null) {
      ctx.once('effect', (tx) =>
        tx.prepare('INSERT INTO crash_effects (job_id, key) VALUES (?, ?)').run(Number(ctx.id), ctx.idempotencyKey),
      );
    }
  },
  { concurrency: Number(concurrencyText ?? 8) },
);

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
