/**
 * `realtime.recovery`: acknowledged publications survive a node killed mid-run, with clients spread
 * over two nodes on one redis-server, reconnecting and resuming from their last offset.
 */
import { rmSync } from 'node:fs';
import WebSocket from 'ws';
import { RealtimeClient } from '../../main/realtime/client';
import { startRedis } from '../../test/helpers/redis-server';
import { median, progress, report, scaled } from '../lib';
import { Child, ROUNDS, percentile, sleep, startServer } from './harness';

interface RecoveryRound {
  total: number;
  good: number;
  resumeMs: number[];
  notConnected: number;
  outOfOrder: number;
  duplicates: number;
}

/** Even, so the two generator processes take half each. */
const RECOVERY_CLIENTS = 2 * scaled(500, 25);

/** One recovery run on a fresh redis-server and two fresh nodes (node A is killed during it). */
async function recoveryRound(): Promise<RecoveryRound> {
  const CLIENTS = RECOVERY_CLIENTS;
  const ROOMS = Array.from({ length: 10 }, (_, i) => `rec-${i}`);
  const redis = await startRedis();
  try {
    const a = await startServer('ours', redis.url);
    const b = await startServer('ours', redis.url, a.dataDir);
    const publisherB = new RealtimeClient({
      url: `${b.url}`,
      token: a.token,
      WebSocket: WebSocket as never,
    });
    const publisherA = new RealtimeClient({
      url: a.url,
      token: a.token,
      WebSocket: WebSocket as never,
      reconnect: false,
    });
    for (const room of ROOMS) await publisherB.publish(room, { warmup: true });
    progress(`recovery: ${CLIENTS} clients over two nodes on one redis-server`);
    const gens = Array.from({ length: 2 }, () => new Child('recover-load.ts'));
    await Promise.all(gens.map((g) => g.first));
    const connected = await Promise.all(
      gens.map((g) =>
        g.ask(
          {
            cmd: 'connect',
            urls: [a.url, b.url],
            token: a.token,
            count: CLIENTS / 2,
            rooms: ROOMS,
            roomsEach: 2,
          },
          180_000,
        ),
      ),
    );
    progress(`  connected: ${connected.map((c) => c.connected).join(' + ')}`);
    const acked: Record<string, { epoch: string; offsets: number[] }> = {};
    let publishing = true;
    const publishLoop = async (client: RealtimeClient) => {
      let i = 0;
      while (publishing) {
        const room = ROOMS[i % ROOMS.length] as string;
        i += 1;
        try {
          const { position } = await client.publish(room, { i });
          const entry = (acked[room] ??= {
            epoch: position.epoch,
            offsets: [],
          });
          if (entry.epoch === position.epoch) entry.offsets.push(position.offset);
        } catch {
          // not acknowledged: not counted
        }
        await sleep(20);
      }
    };
    const loops = [publishLoop(publisherA), publishLoop(publisherB)];
    for (let t = 0; t < 8; t += 1) {
      await sleep(500);
      await Promise.all(gens.map((g) => g.ask({ cmd: 'chaos', share: 0.02 })));
      if (t === 4) {
        progress('  killing node A');
        a.child.kill();
      }
    }
    publishing = false;
    await Promise.all(loops);
    await sleep(3000);
    const results = await Promise.all(gens.map((g) => g.ask({ cmd: 'verify', acked }, 60_000)));
    const round: RecoveryRound = {
      total: results.reduce((n, r) => n + r.total, 0),
      good: results.reduce((n, r) => n + r.good, 0),
      resumeMs: results.flatMap((r) => r.resumeMs as number[]),
      notConnected: results.reduce((n, r) => n + r.notConnected, 0),
      outOfOrder: results.reduce((n, r) => n + r.outOfOrder, 0),
      duplicates: results.reduce((n, r) => n + r.duplicates, 0),
    };
    publisherA.close();
    publisherB.close();
    await Promise.all(gens.map((g) => g.ask({ cmd: 'close' })));
    await b.child.ask({ cmd: 'stop' }).catch(() => b.child.kill());
    // Node A was killed, so nothing removed the data directory the two nodes shared.
    rmSync(a.dataDir, { recursive: true, force: true });
    return round;
  } finally {
    await redis.stop();
  }
}

export async function benchRecovery(): Promise<void> {
  const runs: RecoveryRound[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const r = await recoveryRound();
    runs.push(r);
    progress(
      `  recovery round ${i + 1}: ${r.good}/${r.total} good, resume p99 ${percentile(r.resumeMs, 99).toFixed(0)} ms over ${r.resumeMs.length} reconnects`,
    );
  }
  const shares = runs.map((r) => r.good / Math.max(1, r.total));
  const p99s = runs.map((r) => percentile(r.resumeMs, 99));
  const sum = (f: (r: RecoveryRound) => number) => runs.reduce((n, r) => n + f(r), 0);
  report({
    bench: 'realtime.recovery',
    // The worst round: one lost or duplicated publication in any round is a miss.
    ours: Number(Math.min(...shares).toFixed(5)),
    baseline: null,
    unit: 'share of acked publications received once, in order, or covered by a gap (worst round)',
    goal: 'share 1; resume p99 <= 1000 ms',
    better: 'higher',
    order: 'single',
    share_rounds: shares.map((x) => Number(x.toFixed(5))),
    resume_p99_ms: Number(median(p99s).toFixed(1)),
    resume_p99_rounds: p99s.map((x) => Number(x.toFixed(1))),
    resume_p50_ms: Number(median(runs.map((r) => percentile(r.resumeMs, 50))).toFixed(1)),
    not_connected_at_end: sum((r) => r.notConnected),
    reconnects: sum((r) => r.resumeMs.length),
    checked: sum((r) => r.total),
    out_of_order: sum((r) => r.outOfOrder),
    duplicates: sum((r) => r.duplicates),
    clients: RECOVERY_CLIENTS,
    rounds: ROUNDS,
  });
}
