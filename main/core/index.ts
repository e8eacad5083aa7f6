/** The lowest layer of main/: types every capability shares (who calls, handler shapes, routes, audit, metrics), so capabilities need not import each other for them. It imports nothing from main/ but itself. */
export type { AuditRecord, AuditTrail } from './audit';
export { callerHasScope, desktopCaller, systemCaller, type Caller } from './caller';
export type { MetricsEndpoint } from './metrics';
export type { HandlersFor, OperationHandlers, OperationObserver } from './operations';
export type { RouteHandler, VersionedRoute } from './routes';
