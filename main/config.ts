/**
 * Every setting: the config file's schema with its defaults, the command-line flags and environment
 * variables, and how they merge and are checked (the retention setting's own schema and windows are
 * in retention-config.ts). Over ~450 lines because it is a catalogue, one short entry per setting,
 * kept in one file so each setting, its default and its flag sit side by side.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PhError } from '../contract';
import { RetentionSchema, retentionProblem } from './retention-config';

const HOST_NAME = '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$';

const RoomRole = Type.Union(
  ['viewer', 'operator', 'admin', 'none'].map((r) => Type.Literal(r as 'viewer' | 'operator' | 'admin' | 'none')),
);
const RoomRuleSetting = Type.Object(
  {
    prefix: Type.String({
      maxLength: 128,
      pattern: '^[A-Za-z0-9_.:@-]*$',
      description: 'Rooms whose name starts with this ("" is every room)',
    }),
    subscribeRole: RoomRole,
    publishRole: RoomRole,
    subscribeScope: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    publishScope: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    lane: Type.Optional(Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')])),
    history: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Address the embedded server binds' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the embedded server (0 picks a free one)' }),
    lanAccess: Type.Boolean({ description: 'Allow binding an address other than loopback' }),
    dataDir: Type.String({ minLength: 1, description: 'Where the database, keys and backups live' }),
    requireDurableRedis: Type.Optional(
      Type.Boolean({ description: 'Refuse to start when Redis does not persist writes (AOF off, or it will not say)' }),
    ),
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
    bodyIdleTimeoutMs: Type.Optional(
      Type.Integer({ minimum: 200, maximum: 300_000, description: 'Longest pause within a request body before 408 (default 10000)' }),
    ),
    consoleDir: Type.Optional(Type.String({ description: 'Built console to serve at / (default: out/renderer)' })),
    tlsCert: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) file: serve HTTPS and WSS' })),
    tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file of tlsCert' })),
    tlsSelfSigned: Type.Optional(
      Type.Boolean({ description: 'Serve TLS with a self-signed certificate kept in the data directory (automatic with LAN access)' }),
    ),
    insecureLan: Type.Optional(Type.Boolean({ description: 'With LAN access and no certificate, serve plain HTTP instead of TLS' })),
    publicNames: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: HOST_NAME }), {
        maxItems: 32,
        description: 'Host names browsers may use to reach this node (the Host allow-list adds them to loopback and the bound host)',
      }),
    ),
    backup: Type.Optional(
      Type.Object(
        {
          roots: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
              maxItems: 64,
              description: 'Folders under which backup sources may be registered and restores written (default: the data directory)',
            }),
          ),
          replicaRoots: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
              maxItems: 64,
              description: 'Folders a folder replica of the backup repository may be in (default: backup.roots)',
            }),
          ),
          replicaAllowCidrs: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
              maxItems: 64,
              description: 'CIDRs or host names S3, SFTP and peer backup replicas may reach, beyond loopback and the private LAN ranges',
            }),
          ),
          peerSenders: Type.Optional(
            Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }), {
              maxItems: 64,
              description:
                'Node ids of the fleet whose backup replicas this node keeps (in <data-dir>/peer-replicas/<node id>/); default none',
            }),
          ),
          peerQuotaMiB: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1024 * 1024 * 1024,
              description: 'Most MiB this node keeps for each peer sender (default: no limit beyond the disk)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    discovery: Type.Optional(
      Type.Object(
        {
          allowedTargets: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
              maxItems: 256,
              description:
                'CIDRs, addresses and host names health checks and the gateway may reach (default: loopback and private LAN ranges)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    graphql: Type.Optional(
      Type.Object(
        {
          maxDepth: Type.Optional(
            Type.Integer({ minimum: 2, maximum: 100, description: 'Deepest selection a GraphQL query may nest (default 12)' }),
          ),
          maxCost: Type.Optional(
            Type.Integer({ minimum: 10, maximum: 10_000_000, description: 'Highest cost a GraphQL query may have (default 50000)' }),
          ),
          maxAliases: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 1000, description: 'Most aliases one GraphQL query may use (default 30)' }),
          ),
          maxListSize: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 100_000, description: 'Largest `limit` a GraphQL query may ask for (default 500)' }),
          ),
          introspection: Type.Optional(
            Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin'), Type.Literal('off')], {
              description: 'The least role that may introspect the GraphQL schema, or off (default viewer: every signed-in caller)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    realtime: Type.Optional(
      Type.Object(
        {
          rooms: Type.Optional(
            Type.Array(RoomRuleSetting, {
              maxItems: 256,
              description:
                'Room rules by prefix, laid over the defaults (docs/realtime-protocol.md): a prefix given here replaces its default',
            }),
          ),
          maxSubscriptions: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 10_000, description: 'Rooms one WebSocket connection may be in at once (default 256)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    webhooks: Type.Optional(
      Type.Object(
        {
          allowCidrs: Type.Optional(
            Type.Array(Type.String({ minLength: 3, maxLength: 50, pattern: '^[0-9A-Fa-f:.]+/\\d{1,3}$' }), {
              maxItems: 256,
              description: 'CIDRs webhooks may be sent to beyond loopback and the private LAN ranges (never link-local)',
            }),
          ),
          retryWindowHours: Type.Optional(
            Type.Number({
              minimum: 0.01,
              maximum: 720,
              description: 'How long a failing delivery is retried before its endpoint is turned off (default 24)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    retention: Type.Optional(RetentionSchema),
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
  for (const key of ['tlsCert', 'tlsKey'] as const) {
    const value = merged[key];
    if (typeof value === 'string' && !isAbsolute(value)) merged[key] = resolve(value);
  }
  if (typeof merged.fleetSecretFile === 'string') merged.fleetSecret = readSecretFile(merged.fleetSecretFile);
  const config = validate(merged);
  return { config, sources };
}

function validate(candidate: Partial): Config {
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first !== undefined) {
    const field = first.path.replace(/^\//, '').replaceAll('/', '.') || 'config';
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
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    const field = config.tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    throw new PhError('PH_CONFIG_INVALID', 'Setting "tlsCert" and "tlsKey" go together: give both or neither', { field });
  }
  for (const [index, root] of (config.backup?.roots ?? []).entries()) {
    if (!isAbsolute(root))
      throw new PhError('PH_CONFIG_INVALID', `Setting "backup.roots.${index}" must be an absolute path (got ${JSON.stringify(root)})`, {
        field: `backup.roots.${index}`,
      });
  }
  for (const [index, target] of (config.discovery?.allowedTargets ?? []).entries()) {
    if (!isTargetRule(target))
      throw new PhError(
        'PH_CONFIG_INVALID',
        `Setting "discovery.allowedTargets.${index}" must be a CIDR, an address or a host name (got ${JSON.stringify(target)})`,
        { field: `discovery.allowedTargets.${index}` },
      );
  }
  if (isFleet(config) && config.fleetSecret === undefined) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      'Setting "fleetSecret" is required with Redis: every node signs what it writes there. Give the same secret (32 characters or more) to every node in PILOTHOUSE_FLEET_SECRET, --fleet-secret-file or "fleetSecret" in the config file',
      { field: 'fleetSecret' },
    );
  }
  const retention = retentionProblem(config.retention);
  if (retention !== null)
    throw new PhError('PH_CONFIG_INVALID', `Setting "${retention.field}" ${retention.message}`, { field: retention.field });
  if (config.redisSentinels !== undefined && config.redisSentinelName === undefined) {
    throw new PhError('PH_CONFIG_INVALID', 'Setting "redisSentinelName" is required with redisSentinels (the master name they watch)', {
      field: 'redisSentinelName',
    });
  }
  return config;
}

/** A CIDR (`10.0.0.0/8`, `fd00::/8`), one address, or a host name. */
function isTargetRule(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (bits === undefined) return family !== 0 || new RegExp(HOST_NAME).test(address);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** `backup.roots`, or the data directory when the admin has named none. */
export function backupRoots(config: Config): readonly string[] {
  return config.backup?.roots ?? [config.dataDir];
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
  if (env.PILOTHOUSE_REQUIRE_DURABLE_REDIS !== undefined) out.requireDurableRedis = toBoolean(env.PILOTHOUSE_REQUIRE_DURABLE_REDIS);
  if (env.PILOTHOUSE_LOG_LEVEL !== undefined) out.logLevel = env.PILOTHOUSE_LOG_LEVEL;
  if (env.PILOTHOUSE_SHUTDOWN_DEADLINE_MS !== undefined) out.shutdownDeadlineMs = toNumber(env.PILOTHOUSE_SHUTDOWN_DEADLINE_MS);
  if (env.PILOTHOUSE_TLS_CERT !== undefined) out.tlsCert = env.PILOTHOUSE_TLS_CERT;
  if (env.PILOTHOUSE_TLS_KEY !== undefined) out.tlsKey = env.PILOTHOUSE_TLS_KEY;
  if (env.PILOTHOUSE_TLS_SELF_SIGNED !== undefined) out.tlsSelfSigned = toBoolean(env.PILOTHOUSE_TLS_SELF_SIGNED);
  if (env.PILOTHOUSE_INSECURE_LAN !== undefined) out.insecureLan = toBoolean(env.PILOTHOUSE_INSECURE_LAN);
  if (env.PILOTHOUSE_PUBLIC_NAMES !== undefined) out.publicNames = list(env.PILOTHOUSE_PUBLIC_NAMES, ',');
  // Paths may hold commas: the roots are split like PATH.
  if (env.PILOTHOUSE_BACKUP_ROOTS !== undefined) out.backup = { roots: list(env.PILOTHOUSE_BACKUP_ROOTS, delimiter) };
  if (env.PILOTHOUSE_DISCOVERY_ALLOWED_TARGETS !== undefined)
    out.discovery = { allowedTargets: list(env.PILOTHOUSE_DISCOVERY_ALLOWED_TARGETS, ',') };
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
  'require-durable-redis'?: boolean;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-self-signed'?: boolean;
  'insecure-lan'?: boolean;
  'public-name'?: string[];
  'backup-root'?: string[];
  'allow-target'?: string[];
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

/** Keeps a non-numeric string as it is, so validation reports it with the setting's name. */
function toNumber(text: string): number | string {
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : text;
}

function list(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function toBoolean(text: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  return text;
}
