export { RedisConnection } from './redis-connection';
export { Subscriber } from './subscriber';
