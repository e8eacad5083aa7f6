export { apiVersions, deprecationHeaders, latestApiVersion, negotiateApiVersion, type ApiVersion } from './api-versions';
export { HttpServer, type HttpServerDeps, type ReadinessReport, type WebSocketEndpoint } from './http-server';
export type { VersionedRoute } from './versioned-routes';
