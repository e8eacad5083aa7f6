import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type Config } from '../main/config';
import { ControlPlane } from '../main/control-plane';
import { createLogger } from '../main/logger';
import type { ControlPlaneOptions } from '../main/plane/options';

/** A started bench node: its URL, its admin key, and operations called with that key. */
export interface BenchPlane {
  readonly plane: ControlPlane;
  readonly url: string;
  readonly adminKey: string;
  /** `POST /api/v2/ops/<name>` with the admin key; throws on anything but 200. */
  op(name: string, input: unknown): Promise<unknown>;
}

/**
 * What every bench's plane child starts: one headless Pilothouse on 127.0.0.1, port 0, in a fresh
 * data dir named `ph-bench-<name>-…`, silent, which stops and removes its data dir on SIGTERM.
 */
export async function startBenchPlane(
  name: string,
  overrides: Partial<Config> = {},
  options: Omit<ControlPlaneOptions, 'mode' | 'logger'> = {},
): Promise<BenchPlane> {
  const dataDir = mkdtempSync(join(tmpdir(), `ph-bench-${name}-`));
  const config = { ...defaultConfig(dataDir), port: 0, logLevel: 'silent' as const, ...overrides };
  const plane = new ControlPlane({ config, sources: ['bench'] }, { mode: 'headless', logger: createLogger('silent'), ...options });
  process.on(
    'SIGTERM',
    () =>
      void plane.stop().then(() => {
        rmSync(dataDir, { recursive: true, force: true });
        process.exit(0);
      }),
  );
  await plane.start();
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  const op = async (operation: string, input: unknown): Promise<unknown> => {
    const res = await fetch(`${plane.url}/api/v2/ops/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify(input),
    });
    if (res.status !== 200) throw new Error(`${operation}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return { plane, url: plane.url, adminKey, op };
}
