export { RedisConnection } from './redis-connection';
export { Subscriber } from './subscriber';
export { redisTarget, type RedisSettings } from './redis-target';
