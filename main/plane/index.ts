/**
 * The composition root's pieces: one wiring step a capability, in the order `ControlPlane.start()`
 * calls them, and the order services start and stop in. Only main/control-plane.ts imports this.
 */
export { wireBackup } from './backup';
export { wireBatch } from './batch';
export { wireCache } from './cache';
export { wireDiscovery } from './discovery';
export { announceRecovery, linkFleet, wireFleet } from './fleet';
export { wireGraphql } from './graphql';
export { buildHttp, installRoutes, loadServerTls } from './http';
export { migrations } from './migrations';
export { buildMonitoring, registerPlaneHealth } from './monitoring';
export { wireOperations } from './operations';
export type { ControlPlaneOptions } from './options';
export { wireRealtime } from './realtime';
export type { RunningPlane } from './running';
export { wireSecurity, wireSignIn } from './security';
export { ServiceOrder } from './service-order';
export { wireWebhooks } from './webhooks';
export type { Wiring } from './wiring';
