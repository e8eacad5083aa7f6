/** The command-line flags as a layer of settings. */
import { parseArgs } from 'node:util';
import { PhError } from '../../contract';
import type { ConfigLayer } from './schema';
import { toNumber } from './text-values';

interface Flags {
  host?: string;
  port?: string;
  'data-dir'?: string;
  'redis-url'?: string;
  'redis-sentinels'?: string;
  'redis-sentinel-name'?: string;
  'redis-ca-file'?: string;
  'fleet-secret-file'?: string;
  config?: string;
  lan?: boolean;
  'log-level'?: string;
  'require-durable-redis'?: boolean;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-self-signed'?: boolean;
  'insecure-lan'?: boolean;
  'public-name'?: string[];
  'backup-root'?: string[];
  'allow-target'?: string[];
}

export function parseFlags(argv: readonly string[]): Flags {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'redis-url': { type: 'string' },
        'redis-sentinels': { type: 'string' },
        'redis-sentinel-name': { type: 'string' },
        'redis-ca-file': { type: 'string' },
        // No --fleet-secret: a secret on the command line is visible to every account (ps).
        'fleet-secret-file': { type: 'string' },
        config: { type: 'string' },
        lan: { type: 'boolean' },
        'log-level': { type: 'string' },
        'require-durable-redis': { type: 'boolean' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-self-signed': { type: 'boolean' },
        'insecure-lan': { type: 'boolean' },
        'public-name': { type: 'string', multiple: true },
        'backup-root': { type: 'string', multiple: true },
        'allow-target': { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (err) {
    throw new PhError('PH_CONFIG_INVALID', (err as Error).message, { field: 'argv' });
  }
}

export function flagLayer(flags: Flags): ConfigLayer {
  const out: ConfigLayer = {};
  if (flags.host !== undefined) out.host = flags.host;
  if (flags.port !== undefined) out.port = toNumber(flags.port);
  if (flags['data-dir'] !== undefined) out.dataDir = flags['data-dir'];
  if (flags['redis-url'] !== undefined) out.redisUrl = flags['redis-url'];
  if (flags['redis-sentinels'] !== undefined) out.redisSentinels = flags['redis-sentinels'];
  if (flags['redis-sentinel-name'] !== undefined) out.redisSentinelName = flags['redis-sentinel-name'];
  if (flags['redis-ca-file'] !== undefined) out.redisCaFile = flags['redis-ca-file'];
  if (flags['fleet-secret-file'] !== undefined) out.fleetSecretFile = flags['fleet-secret-file'];
  if (flags.lan !== undefined) out.lanAccess = flags.lan;
  if (flags['log-level'] !== undefined) out.logLevel = flags['log-level'];
  if (flags['require-durable-redis'] !== undefined) out.requireDurableRedis = flags['require-durable-redis'];
  if (flags['tls-cert'] !== undefined) out.tlsCert = flags['tls-cert'];
  if (flags['tls-key'] !== undefined) out.tlsKey = flags['tls-key'];
  if (flags['tls-self-signed'] !== undefined) out.tlsSelfSigned = flags['tls-self-signed'];
  if (flags['insecure-lan'] !== undefined) out.insecureLan = flags['insecure-lan'];
  if (flags['public-name'] !== undefined) out.publicNames = flags['public-name'];
  if (flags['backup-root'] !== undefined) out.backup = { roots: flags['backup-root'] };
  if (flags['allow-target'] !== undefined) out.discovery = { allowedTargets: flags['allow-target'] };
  return out;
}
