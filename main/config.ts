import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PhError } from '../contract/errors';

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Address the embedded server binds' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the embedded server (0 picks a free one)' }),
    lanAccess: Type.Boolean({ description: 'Allow binding an address other than loopback' }),
    dataDir: Type.String({ minLength: 1, description: 'Where the database, keys and backups live' }),
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis to share with other nodes (rediss:// for TLS)' })),
    redisSentinels: Type.Optional(
      Type.String({
        pattern: '^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$',
        description: 'Sentinels as host:port,host:port (instead of the URL host)',
      }),
    ),
    redisSentinelName: Type.Optional(Type.String({ minLength: 1, description: 'The master name the Sentinels watch' })),
    redisCaFile: Type.Optional(Type.String({ minLength: 1, description: 'CA certificate (PEM) that signed the Redis server certificate' })),
    fleetSecret: Type.Optional(
      Type.String({ minLength: 32, description: 'The secret every node of a fleet shares to sign what it writes to Redis' }),
    ),
    fleetSecretFile: Type.Optional(Type.String({ minLength: 1, description: 'A file (mode 0600) holding the fleet secret' })),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { description: 'pino log level' },
    ),
    shutdownDeadlineMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
    consoleDir: Type.Optional(Type.String({ description: 'Built console to serve at / (default: out/renderer)' })),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

const SECRET_FIELDS = new Set(['fleetSecret', 'redisUrl']);

export interface LoadedConfig {
  readonly config: Config;
  /** Where settings came from, lowest precedence first: shown to operators by `system.config`. */
  readonly sources: readonly string[];
}

export const defaultDataDir = (): string => join(homedir(), '.pilothouse');

export function defaultConfig(dataDir: string = defaultDataDir()): Config {
  return {
    host: '127.0.0.1',
    port: 7420,
    lanAccess: false,
    dataDir,
    logLevel: 'info',
    shutdownDeadlineMs: 4000,
  };
}

export interface ConfigInputs {
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly defaults?: Config;
}

type Partial = { -readonly [K in keyof Config]?: unknown };

/**
 * Defaults → config file → `PILOTHOUSE_*` environment → CLI flags, each layer overriding the one
 * before; the result is validated once and a bad value is reported with the setting's name.
 */
export function loadConfig(inputs: ConfigInputs = {}): LoadedConfig {
  const env = inputs.env ?? process.env;
  const flags = parseFlags(inputs.argv ?? []);
  const sources = ['defaults'];
  const merged: Partial = { ...(inputs.defaults ?? defaultConfig()) };

  const file = flags.config ?? env.PILOTHOUSE_CONFIG;
  if (file !== undefined) {
    Object.assign(merged, readConfigFile(file));
    sources.push(`file ${resolve(file)}`);
  }

  const fromEnv = envLayer(env);
  if (Object.keys(fromEnv).length > 0) {
    Object.assign(merged, fromEnv);
    sources.push(`environment (${Object.keys(fromEnv).join(', ')})`);
  }

  const fromFlags = flagLayer(flags);
  if (Object.keys(fromFlags).length > 0) {
    Object.assign(merged, fromFlags);
    sources.push(`flags (${Object.keys(fromFlags).join(', ')})`);
  }

  if (typeof merged.dataDir === 'string' && !isAbsolute(merged.dataDir)) merged.dataDir = resolve(merged.dataDir);
  if (typeof merged.fleetSecretFile === 'string') merged.fleetSecret = readSecretFile(merged.fleetSecretFile);
  const config = validate(merged);
  return { config, sources };
}

function validate(candidate: Partial): Config {
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first !== undefined) {
    const field = first.path.replace(/^\//, '') || 'config';
    // A secret is never echoed back, not even a wrong one (it may be the right one mistyped).
    const got = SECRET_FIELDS.has(field) ? '' : ` (got ${JSON.stringify(first.value)})`;
    throw new PhError('PH_CONFIG_INVALID', `Setting "${field}" ${first.message.toLowerCase()}${got}`, { field });
  }
  const config = candidate as Config;
  if (!config.lanAccess && !isLoopback(config.host)) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      `Host ${config.host} is reachable from the LAN; turn LAN access on (--lan or PILOTHOUSE_LAN_ACCESS=true) to bind it`,
      { field: 'host' },
    );
  }
  if (isFleet(config) && config.fleetSecret === undefined) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      'Setting "fleetSecret" is required with Redis: every node signs what it writes there. Give the same secret (32 characters or more) to every node in PILOTHOUSE_FLEET_SECRET, --fleet-secret-file or "fleetSecret" in the config file',
      { field: 'fleetSecret' },
    );
  }
  if (config.redisSentinels !== undefined && config.redisSentinelName === undefined) {
    throw new PhError('PH_CONFIG_INVALID', 'Setting "redisSentinelName" is required with redisSentinels (the master name they watch)', {
      field: 'redisSentinelName',
    });
  }
  return config;
}

/** True when the node shares state with others through Redis (a URL or Sentinels). */
export function isFleet(config: Config): boolean {
  return config.redisUrl !== undefined || config.redisSentinels !== undefined;
}

/**
 * The fleet secret from its file. The file must be readable by its owner only: a secret that any
 * local account can read signs nothing.
 */
function readSecretFile(path: string): string {
  const fail = (why: string): never => {
    throw new PhError('PH_CONFIG_INVALID', `Setting "fleetSecretFile": ${why}`, { field: 'fleetSecretFile' });
  };
  let mode = 0;
  let text = '';
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    fail(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) fail(`${path} is readable by other accounts; chmod 600 it`);
  return text;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function readConfigFile(path: string): Partial {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PhError('PH_CONFIG_INVALID', `Cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      field: 'config',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PhError('PH_CONFIG_INVALID', `The config file ${path} is not valid JSON`, { field: 'config' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PhError('PH_CONFIG_INVALID', `The config file ${path} must hold a JSON object`, { field: 'config' });
  }
  return parsed as Partial;
}

function envLayer(env: NodeJS.ProcessEnv): Partial {
  const out: Partial = {};
  if (env.PILOTHOUSE_HOST !== undefined) out.host = env.PILOTHOUSE_HOST;
  if (env.PILOTHOUSE_PORT !== undefined) out.port = toNumber(env.PILOTHOUSE_PORT);
  if (env.PILOTHOUSE_DATA_DIR !== undefined) out.dataDir = env.PILOTHOUSE_DATA_DIR;
  const redis = env.PILOTHOUSE_REDIS_URL ?? env.REDIS_URL;
  if (redis !== undefined && redis !== '') out.redisUrl = redis;
  if (env.PILOTHOUSE_REDIS_SENTINELS !== undefined) out.redisSentinels = env.PILOTHOUSE_REDIS_SENTINELS;
  if (env.PILOTHOUSE_REDIS_SENTINEL_NAME !== undefined) out.redisSentinelName = env.PILOTHOUSE_REDIS_SENTINEL_NAME;
  if (env.PILOTHOUSE_REDIS_CA_FILE !== undefined) out.redisCaFile = env.PILOTHOUSE_REDIS_CA_FILE;
  if (env.PILOTHOUSE_FLEET_SECRET !== undefined && env.PILOTHOUSE_FLEET_SECRET !== '') out.fleetSecret = env.PILOTHOUSE_FLEET_SECRET;
  if (env.PILOTHOUSE_FLEET_SECRET_FILE !== undefined) out.fleetSecretFile = env.PILOTHOUSE_FLEET_SECRET_FILE;
  if (env.PILOTHOUSE_LAN_ACCESS !== undefined) out.lanAccess = toBoolean(env.PILOTHOUSE_LAN_ACCESS);
  if (env.PILOTHOUSE_LOG_LEVEL !== undefined) out.logLevel = env.PILOTHOUSE_LOG_LEVEL;
  if (env.PILOTHOUSE_SHUTDOWN_DEADLINE_MS !== undefined) out.shutdownDeadlineMs = toNumber(env.PILOTHOUSE_SHUTDOWN_DEADLINE_MS);
  return out;
}

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
}

function parseFlags(argv: readonly string[]): Flags {
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
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (err) {
    throw new PhError('PH_CONFIG_INVALID', (err as Error).message, { field: 'argv' });
  }
}

function flagLayer(flags: Flags): Partial {
  const out: Partial = {};
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
  return out;
}

/** Keeps a non-numeric string as it is, so validation reports it with the setting's name. */
function toNumber(text: string): number | string {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : text;
}

function toBoolean(text: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  return text;
}
