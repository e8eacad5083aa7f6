import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageWorkers } from '../../main/backup';
import { buildChild, checkAfterKill, runAndKill, type KillReport } from '../backup/crash/crash-harness';
import { tempDir } from '../helpers/temp-dir';
import { faultSize, reportFigure } from './fault-size';
import { launchHeadless } from './headless';

describe(`kill -9 (${faultSize.kills} backup, ${faultSize.nodeKills} node)`, () => {
  const dir = tempDir('ph-fault-kill-');
  let child: string;
  let workers: PageWorkers;
  beforeAll(async () => {
    child = await buildChild(join(dir.path, 'build'));
    workers = new PageWorkers(2);
  });
  afterAll(async () => {
    await workers.close();
    dir.remove();
  });

  it('during snapshot, prune and in-place restore leaves every snapshot whole and the target old or new', async () => {
    const lanes = 2;
    const perLane = Math.ceil(faultSize.kills / lanes);
    let corrupt = 0;
    const reports: KillReport[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = 0; i < perLane; i += 1) {
          const laneDir = join(dir.path, `lane-${lane}`);
          await runAndKill(child, laneDir, Math.floor(Math.random() * 700));
          try {
            reports.push(await checkAfterKill(laneDir, workers));
          } catch {
            corrupt += 1;
          }
        }
      }),
    );
    const verified = reports.reduce((n, r) => n + r.snapshotsVerified, 0);
    reportFigure('backup kills', lanes * perLane, 'SIGKILL during snapshot, prune or in-place restore');
    reportFigure('backup kills inside an in-place restore', reports.filter((r) => r.intentChecked).length);
    reportFigure('snapshots verified after the kills', verified, 'pages, image hash, integrity_check');
    reportFigure('corrupt repositories or targets', corrupt);
    reportFigure('backup kill drill duration (s)', ((performance.now() - started) / 1000).toFixed(1));
    expect(corrupt).toBe(0);
    expect(verified).toBeGreaterThan(0);
  }, 600_000);

  it('of a headless node under writes loses no acknowledged write, and the database passes integrity_check', async () => {
    const data = join(dir.path, 'node');
    const acknowledged = new Set<string>();
    let uncaught = 0;
    let writes = 0;
    for (let round = 0; round < faultSize.nodeKills; round += 1) {
      const node = await launchHeadless(data);
      await node.running();
      let stop = false;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; !stop; i += 1) {
          const name = `r${round}-w${w}-${i}`;
          const res = await node.op('keys.create', { name, role: 'viewer' }).catch(() => null);
          writes += 1;
          if (res?.status === 200) acknowledged.add(name);
        }
      });
      await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 400)));
      await node.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      if (/uncaught|unhandled/i.test(node.stderr())) uncaught += 1;
      const db = new BetterSqlite3(join(data, 'pilothouse.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    }
    const check = await launchHeadless(data);
    await check.running();
    const { body } = await check.op('keys.list', {});
    const present = new Set((body.keys as { name: string }[]).map((k) => k.name));
    const lost = [...acknowledged].filter((name) => !present.has(name));
    await check.kill('SIGTERM');
    reportFigure('headless node kills under writes', faultSize.nodeKills);
    reportFigure('acknowledged writes (keys.create) across those kills', acknowledged.size, `${writes} attempted`);
    reportFigure('acknowledged writes lost', lost.length);
    reportFigure('uncaught exceptions', uncaught);
    expect(lost).toEqual([]);
    expect(uncaught).toBe(0);
  }, 900_000);
});
