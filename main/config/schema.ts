/**
 * The config file's schema: every setting, its type, bounds and description (the retention setting's
 * own schema is in retention-config.ts). Defaults are in defaults.ts, the checks the schema cannot
 * express in validate.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import { RetentionSchema } from '../retention-config';

/** A host name as settings take it (also what `discovery.allowedTargets` accepts besides CIDRs and addresses). */
export const HOST_NAME = '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$';

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
          maxConnectionsPerKey: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100_000,
              description: 'Hub connections one viewer or operator key may hold to this node at once (default 256; admins are not counted)',
            }),
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

/** One layer of settings as read (file, environment, flags), before the merged result is validated. */
export type ConfigLayer = { -readonly [K in keyof Config]?: unknown };
