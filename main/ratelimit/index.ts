export { ratelimitMigrations } from './migrations';
export { TierStore, defaultTierFor, type RateTier } from './tier-store';
export { RateLimits, type LimiterBackend } from './limiter';
export { policyHeader, remainingHeader, type RateDecision } from './decision';
export { batchCap } from './fleet-allowance';
export { installRateLimit } from './http-hook';
export { callerBudget, callerCharge } from './caller-budget';
export { ratelimitHandlers, type RateLimitHandlerDeps } from './operations';
export { rateLimitTables } from './fleet-tables';
