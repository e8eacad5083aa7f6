export { apiVersions, deprecationHeaders, latestApiVersion, negotiateApiVersion, type ApiVersion } from './api-versions';
export { EVENT_SOCKET_PATH } from './event-socket';
export { HttpServer, type HttpServerDeps, type ReadinessReport } from './http-server';
export type { VersionedRoute } from './versioned-routes';
