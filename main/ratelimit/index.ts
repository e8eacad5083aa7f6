export { ratelimitMigrations } from './migrations';
export { TierStore, defaultTierFor, type RateTier } from './tier-store';
export { RateLimits, rateLimitHeaders, type LimiterBackend, type RateDecision } from './limiter';
export { installRateLimit } from './http-hook';
export { ratelimitHandlers, type RateLimitHandlerDeps } from './operations';
