/**
 * The busy writer for `backup.writer-impact`, in its own process like a real application: one-row
 * transactions on the source database as fast as it can, timing each. The parent sends `start` and
 * `stop`; on `stop` it replies with the latencies (ms) measured in between.
 */
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(process.argv[2] as string, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, at REAL, v BLOB)');
const insert = db.prepare('INSERT INTO writes (at, v) VALUES (?, randomblob(100))');
let recording: number[] | null = null;
let stopping = false;

function loop(): void {
  if (stopping) return;
  const end = performance.now() + 20;
  while (performance.now() < end) {
    const t = performance.now();
    insert.run(t);
    const dt = performance.now() - t;
    recording?.push(dt);
  }
  setImmediate(loop);
}

process.on('message', (msg: string) => {
  if (msg === 'start') recording = [];
  else if (msg === 'stop') {
    process.send?.({ latencies: recording ?? [] });
    recording = null;
  } else if (msg === 'exit') {
    stopping = true;
    db.close();
    process.exit(0);
  }
});
loop();
process.send?.('ready');
