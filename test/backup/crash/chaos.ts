/**
 * The long crash run behind `npm run test:chaos`: CHAOS_KILLS (default 500) SIGKILLs over CHAOS_LANES
 * (default 4) lanes, each followed by the same checks as the CI test. Exits non-zero on the first
 * violation. Run: node --import tsx test/backup/crash/chaos.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PageWorkers } from '../../../main/backup';
import { buildChild, killLoop } from './crash-harness';

async function main(): Promise<void> {
  const kills = Number(process.env.CHAOS_KILLS ?? 500);
  const lanes = Number(process.env.CHAOS_LANES ?? 4);
  const dir = mkdtempSync(join(tmpdir(), 'ph-chaos-'));
  const workers = new PageWorkers(2);
  try {
    const child = await buildChild(join(dir, 'build'));
    const started = Date.now();
    const per = Math.ceil(kills / lanes);
    const reports = (
      await Promise.all(Array.from({ length: lanes }, (_, i) => killLoop(child, join(dir, `lane-${i}`), per, workers, 1500)))
    ).flat();
    const during = reports.filter((r) => r.intentChecked);
    process.stdout.write(
      `${JSON.stringify({ kills: reports.length, seconds: Math.round((Date.now() - started) / 1000), snapshotsVerified: reports.reduce((n, r) => n + r.snapshotsVerified, 0), killedDuringRestore: during.length, targetOld: during.filter((r) => r.targetHad === 'old').length, targetNew: during.filter((r) => r.targetHad === 'new').length })}\n`,
    );
  } catch (err) {
    process.stderr.write(`chaos run failed: ${String((err as Error).stack ?? err)}\n`);
    process.exitCode = 1;
  } finally {
    await workers.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
