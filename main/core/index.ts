/**
 * The lowest layer of main/: what every folder shares (who calls, handler shapes, the audit trail,
 * the metrics endpoint, files prepared for a caller, private files written whole, the data directory's
 * layout, the fields the HTTP layer adds to a request),
 * so folders need not import each other for it. It imports nothing from main/ but itself.
 */
export type { AuditRecord, AuditTrail, CallCounter, CountedCall } from './audit';
export { callerHasScope, desktopCaller, signedInWithSession, sagaCaller, systemCaller, type Caller } from './caller';
export { takeFile, withFile } from './files';
export { readPrivateFile, writePrivateFile } from './private-file';
export type { MetricsEndpoint } from './metrics';
export { DATA_DIR, DATA_DIR_FILES, DATA_DIR_FOLDERS, DATA_DIR_SECRET_FOLDERS, SPARE_ADMIN_KEY } from './data-dir';
export { DAY_MS, durationOf, type RetentionCut } from './retention';
export type { HandlersFor, OperationHandlers, OperationObserver } from './operations';
// The fields the HTTP layer adds to every request (`request.caller`, `request.apiVersion`).
export { decodeCursor, encodeCursor } from './opaque-cursor';
export { KeyConnections } from './key-connections';
export { isWellFormed } from './well-formed';
