export { RedisConnection } from './redis-connection';
export { Subscriber } from './subscriber';
export { redisTarget } from './redis-target';
