import type { EventMessage } from '../../contract/events';
import { defaultConfig, type Config } from '../../main/config';
import type { Clock } from '../../main/clock';
import { ControlPlane, type ControlPlaneOptions } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { tempDir } from '../helpers/temp-dir';
import { adminKeyOf } from '../helpers/control-plane';

export interface JobsNode {
  readonly plane: ControlPlane;
  readonly dataDir: string;
  readonly events: EventMessage[];
  /** An admin key of the fleet (keys are fleet-wide: every node accepts it). */
  readonly adminKey: string;
  /** POSTs to `/api/v2/ops/<name>` with the node's admin key. */
  op(name: string, input?: unknown): Promise<{ status: number; body: any }>;
  /** Stops the node, keeping its data dir (start it again with `restartNode`). */
  stop(): Promise<void>;
  /** Stops it and removes its data dir. */
  remove(): Promise<void>;
}

/**
 * A real control plane on 127.0.0.1 (port 0) in its own data dir, joined to the fleet's Redis, with
 * the fleet intervals shortened so liveness, outbox sweeps and epoch checks show within a second.
 */
export async function startNode(
  redisUrl: string,
  options: { dataDir?: string; config?: Partial<Config>; clock?: Clock; fleet?: ControlPlaneOptions['fleet'] } = {},
): Promise<JobsNode> {
  const dir = options.dataDir === undefined ? tempDir('ph-fleet-') : null;
  const dataDir = options.dataDir ?? (dir as { path: string }).path;
  const config: Config = {
    ...defaultConfig(dataDir),
    port: 0,
    logLevel: 'silent',
    redisUrl,
    fleetSecret: TEST_FLEET_SECRET,
    ...options.config,
  };
  const plane = new ControlPlane(
    { config, sources: ['test'] },
    {
      mode: 'headless',
      logger: createLogger('silent'),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      fleet: {
        epoch: { checkMs: 200 },
        jobs: { nodeTtlMs: 1_000, outboxSweepMs: 200, lockMs: 1_000, stalledIntervalMs: 1_000 },
        ...options.fleet,
      },
    },
  );
  await plane.start();
  const events: EventMessage[] = [];
  plane.running.bus.subscribe((m) => events.push(m));
  const key = adminKeyOf(plane);
  const url = plane.url;
  return {
    plane,
    dataDir,
    adminKey: key,
    events,
    async op(name, input = {}) {
      const res = await fetch(`${url}/api/v2/ops/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: await res.json() };
    },
    stop: () => plane.stop(),
    async remove() {
      await plane.stop();
      dir?.remove();
    },
  };
}
