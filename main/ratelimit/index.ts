export { ratelimitMigrations } from './migrations';
export { TierStore, defaultTierFor, type RateTier } from './tier-store';
export { RateLimits, policyHeader, type LimiterBackend, type RateDecision } from './limiter';
export { installRateLimit } from './http-hook';
export { callerBudget } from './caller-budget';
export { ratelimitHandlers, type RateLimitHandlerDeps } from './operations';
export { rateLimitTables, type RateLimitTableDeps } from './fleet-tables';
