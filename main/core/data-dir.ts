/**
 * What Pilothouse keeps in its data directory, by name: one list for the code that writes each
 * entry, the hardening of their modes at start (security/data-dir-permissions.ts) and the backup
 * path policy that keeps them out of sources and restore targets (backup/path-policy.ts).
 */
export const DATA_DIR = {
  /** The app database; SQLite adds `-wal`, `-shm` and `-journal` beside it. */
  database: 'pilothouse.db',
  /** Locked by the process that owns the directory (store/data-dir-lock.ts). */
  lock: 'pilothouse.lock',
  adminKey: 'admin.key',
  nodeId: 'node.id',
  auditHead: 'audit.head',
  redisEpoch: 'redis.epoch',
  /** The folders the desktop user picked as backup roots. */
  pickedRoots: 'backup-roots.json',
  secrets: 'secrets',
  webhookSecrets: 'webhook-secrets',
  tls: 'tls',
  backups: 'backups',
  peerReplicas: 'peer-replicas',
} as const;

/** The files among them, the database's sidecars included. */
export const DATA_DIR_FILES: readonly string[] = [
  ...['', '-wal', '-shm', '-journal'].map((side) => `${DATA_DIR.database}${side}`),
  ...['', '-journal'].map((side) => `${DATA_DIR.lock}${side}`),
  DATA_DIR.adminKey,
  DATA_DIR.nodeId,
  DATA_DIR.auditHead,
  DATA_DIR.redisEpoch,
  DATA_DIR.pickedRoots,
];

/** Admin keys written when `admin.key` was already taken (`admin-<key id>.key`). */
export const SPARE_ADMIN_KEY = /^admin-[0-9a-f]+\.key$/;

/** The folders among them; the first three hold secrets (0700, every file in them 0600). */
export const DATA_DIR_FOLDERS: readonly string[] = [
  DATA_DIR.secrets,
  DATA_DIR.webhookSecrets,
  DATA_DIR.tls,
  DATA_DIR.backups,
  DATA_DIR.peerReplicas,
];
export const DATA_DIR_SECRET_FOLDERS: readonly string[] = [DATA_DIR.secrets, DATA_DIR.webhookSecrets, DATA_DIR.tls];
