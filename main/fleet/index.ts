export { newId } from './ids';
export { loadNodeId } from './node-identity';
export { RedisEpoch, EPOCH_KEY, type RedisEmptied, type RedisEpochOptions } from './redis-epoch';
export { checkRedisDurability, type RedisDurability } from './redis-durability';
