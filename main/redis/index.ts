export { RedisConnection } from './redis-connection';
export { Subscriber } from './subscriber';
export { REDIS_CALL_TIMEOUT_MS, withRedisDeadline } from './deadline';
export { redisTarget, type RedisSettings } from './redis-target';
