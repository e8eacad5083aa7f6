import { readFileSync } from 'node:fs';
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
    redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { description: 'pino log level' },
    ),
    shutdownDeadlineMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
    bodyIdleTimeoutMs: Type.Optional(
      Type.Integer({ minimum: 200, maximum: 300_000, description: 'Longest pause within a request body before 408 (default 10000)' }),
    ),
    consoleDir: Type.Optional(Type.String({ description: 'Built console to serve at / (default: out/renderer)' })),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

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
  const config = validate(merged);
  return { config, sources };
}

function validate(candidate: Partial): Config {
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first !== undefined) {
    const field = first.path.replace(/^\//, '') || 'config';
    throw new PhError('PH_CONFIG_INVALID', `Setting "${field}" ${first.message.toLowerCase()} (got ${JSON.stringify(first.value)})`, {
      field,
    });
  }
  const config = candidate as Config;
  if (!config.lanAccess && !isLoopback(config.host)) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      `Host ${config.host} is reachable from the LAN; turn LAN access on (--lan or PILOTHOUSE_LAN_ACCESS=true) to bind it`,
      { field: 'host' },
    );
  }
  return config;
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
