export { RedisConnection } from './redis-connection';
export { Subscriber } from './subscriber';
export { REDIS_CALL_TIMEOUT_MS, withRedisDeadline } from './deadline';
export { redisIfConnected } from './if-connected';
export { redisTarget, type RedisSettings } from './redis-target';
export { RedisProbe, type RedisProbeOptions } from './redis-probe';
