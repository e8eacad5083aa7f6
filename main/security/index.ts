export { ApiKeyStore, type ApiKey } from './api-keys';
export { AuditLog, type AuditEntry, type AuditRecord } from './audit-log';
export { Authenticator } from './authenticator';
export { ADMIN_KEY_FILE, bootstrapAdminKey } from './bootstrap-admin-key';
export { callerHasScope, desktopCaller, systemCaller, type Caller } from './caller';
export { securityMigrations } from './migrations';
export { securityHandlers } from './operations';
export { SessionTokens, SESSION_TTL_SECONDS } from './session-tokens';
