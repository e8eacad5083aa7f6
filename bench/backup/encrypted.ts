/**
 * `backup.encrypted-full`: a full snapshot into an encrypted repository against the same snapshot
 * into a plain one (`encryption: false`), same database, same run, fresh repositories each round,
 * the first side switching every round.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackupService, backupMigrations } from '../../main/backup';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { dropCaches, median, oursFirst, progress, report } from '../lib';

export interface BenchDb {
  readonly work: string;
  readonly src: string;
  readonly sizeMiB: number;
  readonly rounds: number;
}

/** A started service over a fresh folder; `stop` closes its store too. */
export async function freshService(
  dir: string,
  work: string,
  encryption: boolean,
): Promise<{ service: BackupService; stop: () => Promise<void> }> {
  rmSync(dir, { recursive: true, force: true });
  const appDbPath = join(dir, 'pilothouse.db');
  const store = openStore({ path: appDbPath, migrations: backupMigrations });
  const service = new BackupService({
    db: store,
    appDbPath,
    roots: [work],
    repoDir: join(dir, 'repo'),
    keyFile: join(dir, 'secrets', 'backup-repository.key'),
    encryption,
    clock: { now: () => Date.now() },
    logger: createLogger('silent'),
    bus: new EventBus(),
    appSchedule: null,
    maintenanceSchedule: null,
    busyTimeoutMs: 30_000,
  });
  await service.start();
  return {
    service,
    stop: async () => {
      await service.stop();
      store.close();
    },
  };
}

export async function benchEncryptedFull({ work, src, sizeMiB, rounds }: BenchDb): Promise<void> {
  const enc: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const side = async (encryption: boolean): Promise<void> => {
      const { service, stop } = await freshService(join(work, encryption ? 'enc' : 'plain'), work, encryption);
      const source = service.registerSource({ name: 'bench', path: src });
      dropCaches();
      const t = performance.now();
      await service.snapshot(source.id);
      const seconds = (performance.now() - t) / 1000;
      (encryption ? enc : plain).push(sizeMiB / seconds);
      progress(`encrypted-full round ${r + 1}: ${encryption ? 'encrypted' : 'plain'} ${seconds.toFixed(2)} s`);
      await stop();
    };
    if (oursFirst(r)) {
      await side(true);
      await side(false);
    } else {
      await side(false);
      await side(true);
    }
  }
  report({
    bench: 'backup.encrypted-full',
    ours: median(enc),
    baseline: median(plain),
    unit: 'MiB/s',
    goal: '>= 0.85',
    better: 'higher',
    order: 'alternating',
    rounds,
    ours_is: 'full snapshot into an encrypted repository (HMAC addresses, AES-256-GCM blobs and manifest)',
    baseline_is: 'the same snapshot into a plain repository (encryption: false)',
    ours_rounds: enc.map((x) => +x.toFixed(1)),
    baseline_rounds: plain.map((x) => +x.toFixed(1)),
  });
}
