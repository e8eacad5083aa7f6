import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { TieredCache, cacheMigrations, type CacheOptions } from '../../main/cache';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { securityMigrations } from '../../main/security';
import { testSeal } from '../helpers/fleet-secret';
import { tempDir } from '../helpers/temp-dir';

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
  t: number;
}

export function fakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  const clock = {
    t: start,
    now: () => clock.t,
    advance: (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

export interface CacheNode {
  readonly cache: TieredCache;
  readonly db: Database;
  readonly events: EventBus;
  readonly dir: string;
  stop(): Promise<void>;
  /** Stops and starts a new cache on the same database file (a node restart). */
  restart(options?: CacheOptions): Promise<CacheNode>;
  /** Stops and deletes the temp dir. */
  remove(): Promise<void>;
}

/** A cache on a real SQLite file in a temp dir, with or without a real Redis client. */
export async function startNode(
  options: { redis?: Redis | null; clock?: { now(): number }; cache?: CacheOptions; dir?: string } = {},
): Promise<CacheNode> {
  const temp = options.dir === undefined ? tempDir('ph-cache-') : null;
  const dir = options.dir ?? (temp as { path: string }).path;
  const db = openStore({ path: join(dir, 'pilothouse.db'), migrations: [...securityMigrations, ...cacheMigrations] });
  const events = new EventBus();
  const clock = options.clock ?? { now: () => Date.now() };
  // The seal names the sender, so the cache's node id and the seal's must be the same.
  const nodeId = options.cache?.nodeId ?? `cache-${randomBytes(4).toString('hex')}`;
  const cache = new TieredCache({
    db,
    redis: options.redis ?? null,
    seal: testSeal(nodeId),
    clock,
    logger: createLogger('silent'),
    events,
    options: { ...options.cache, nodeId },
  });
  await cache.start();
  let stopped = false;
  const node: CacheNode = {
    cache,
    db,
    events,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cache.stop();
      db.close();
    },
    async remove() {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(next) {
      await node.stop();
      return startNode({ ...options, dir, cache: next ?? options.cache });
    },
  };
  return node;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it is true or `timeoutMs` passes; returns the last result. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}
