export { newId } from './ids';
export { loadNodeId } from './node-identity';
export { DEFAULT_MAX_AGE_MS, FleetSeal, type FleetSealOptions, type Opened, type RejectReason } from './seal';
export { HybridClock } from './hybrid-clock';
export { fleetMigrations } from './migrations';
export { ReplicatedTable, type FleetTableDeps, type ReplicaSource, type ReplicatedTableDeps } from './replicated-table';
export { RedisEpoch, EPOCH_KEY, type RedisEmptied, type RedisEpochOptions } from './redis-epoch';
export { checkRedisDurability, type RedisDurability } from './redis-durability';
export { redisTrouble } from './redis-trouble';
