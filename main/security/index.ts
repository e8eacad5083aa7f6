export { ApiKeyStore } from './api-keys';
export { AuditLog } from './audit-log';
export { Authenticator } from './authenticator';
export { bootstrapAdminKey } from './bootstrap-admin-key';
export { securityMigrations } from './migrations';
export { securityHandlers } from './operations';
export { SessionTokens, SESSION_TTL_SECONDS } from './session-tokens';
