import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';

/**
 * Child process for the discovery bench: one headless Pilothouse on 127.0.0.1, port 0, in a fresh
 * data dir, so the parent can measure its CPU from /proc alone. Prints `{url, adminKey}`.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'ph-bench-discovery-'));
const config = { ...defaultConfig(dataDir), port: 0, logLevel: 'silent' as const };
const plane = new ControlPlane({ config, sources: ['bench'] }, { mode: 'headless', logger: createLogger('silent') });
void plane.start().then(() => {
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  process.stdout.write(`${JSON.stringify({ url: plane.url, adminKey })}\n`);
});
process.on(
  'SIGTERM',
  () =>
    void plane.stop().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }),
);
