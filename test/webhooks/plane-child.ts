// A control plane in its own process, so a test can kill -9 it mid-retry. Usage: plane-child.ts <dataDir> [redisUrl]
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { fleetSecretFor } from '../helpers/fleet-secret';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: plane-child.ts <dataDir>');
const redisUrl = process.argv[3];
const fleet = redisUrl === undefined ? {} : { redisUrl, ...fleetSecretFor({ redisUrl }) };
const config = { ...defaultConfig(dataDir), port: 0, logLevel: 'silent' as const, ...fleet };
const plane = new ControlPlane(
  { config, sources: ['test'] },
  { mode: 'headless', logger: createLogger('silent'), webhooks: { baseDelayMs: 400, maxDelayMs: 800 } },
);
plane.start().then(
  () => process.stdout.write(`${JSON.stringify({ url: plane.url })}\n`),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
