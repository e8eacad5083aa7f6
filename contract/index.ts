export * from './errors';
export * from './events';
export * from './ipc';
export * from './operation';
export * from './operations';
export * from './roles';
export { ApiKeySchema, AuditEntrySchema, RoleSchema } from './ops/security';
export { ServiceStatusSchema, SystemStatusSchema } from './ops/system';
