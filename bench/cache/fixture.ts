import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TieredCache, cacheMigrations, type CacheOptions } from '../../main/cache';
import { systemClock } from '../../main/clock';
import { FleetSeal } from '../../main/fleet';
import { createLogger } from '../../main/logger';
import { openStore, type Database } from '../../main/store';
import { BENCH_FLEET_SECRET } from '../lib';

export interface BenchCache {
  readonly cache: TieredCache;
  readonly db: Database | null;
  readonly dir: string;
  readonly shared: Redis | null;
  stop(): Promise<void>;
}

/** A cache on a temp SQLite file (or none), with or without Redis, as a node would build it. */
export async function openCache(
  options: { redisUrl?: string; l3?: boolean; dir?: string; cache?: CacheOptions } = {},
): Promise<BenchCache> {
  // A folder it made is its own to remove on stop; one it was given (a restart) is the caller's.
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? makeDir();
  const db = options.l3 === false ? null : openStore({ path: join(dir, 'pilothouse.db'), migrations: cacheMigrations });
  const shared = options.redisUrl === undefined ? null : new Redis(options.redisUrl, { lazyConnect: true });
  const nodeId = options.cache?.nodeId ?? `bench-${randomBytes(4).toString('hex')}`;
  const seal = new FleetSeal({ secret: BENCH_FLEET_SECRET, nodeId, clock: systemClock });
  const cache = new TieredCache({
    db,
    redis: shared,
    seal,
    clock: systemClock,
    logger: createLogger('silent'),
    options: { ...options.cache, nodeId },
  });
  await cache.start();
  return {
    cache,
    db,
    dir,
    shared,
    async stop() {
      await cache.stop();
      db?.close();
      shared?.disconnect();
      if (ownsDir) removeDir(dir);
    },
  };
}

export function makeDir(): string {
  return mkdtempSync(join(tmpdir(), 'ph-bench-cache-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
