import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, type Config } from '../../main/config';
import { ControlPlane, type ControlPlaneOptions } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { tempDir } from './temp-dir';
import { fleetSecretFor } from './fleet-secret';

export interface TestPlane {
  readonly plane: ControlPlane;
  readonly url: string;
  readonly dataDir: string;
  /** The bootstrap admin key written to admin.key. */
  readonly adminKey: string;
  /** POSTs to `/api/v2/ops/<name>` with the admin key (or `key`), returning status and parsed body. */
  op(name: string, input?: unknown, key?: string | null): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Starts a real headless control plane on 127.0.0.1, port 0, in a temp data dir (`options` tune capabilities). */
export async function startTestPlane(overrides: Partial<Config> = {}, options: Omit<ControlPlaneOptions, 'mode'> = {}): Promise<TestPlane> {
  const dir = tempDir('ph-plane-');
  const config: Config = { ...defaultConfig(dir.path), port: 0, logLevel: 'silent', ...fleetSecretFor(overrides), ...overrides };
  const plane = new ControlPlane({ config, sources: ['test'] }, { mode: 'headless', logger: createLogger(config.logLevel), ...options });
  await plane.start();
  const adminKey = readFileSync(join(config.dataDir, 'admin.key'), 'utf8').trim();
  const url = plane.url;
  return {
    plane,
    url,
    dataDir: config.dataDir,
    adminKey,
    async op(name, input = {}, key = adminKey) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key !== null) headers.authorization = `Bearer ${key}`;
      const res = await fetch(`${url}/api/v2/ops/${name}`, { method: 'POST', headers, body: JSON.stringify(input) });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      await plane.stop();
      dir.remove();
    },
  };
}
