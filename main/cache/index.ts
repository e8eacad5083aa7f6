export { TieredCache } from './tiered-cache';
export type { CacheOptions } from './options';
export { msgpackSerializer } from './serializer';
export { cacheMigrations } from './migrations';
export { cacheHandlers } from './operations';
export { cacheSeries, registerCacheMetrics } from './cache-metrics';
export { registerCacheJobs } from './cache-jobs';
