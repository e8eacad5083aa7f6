export { apiVersions, deprecationHeaders, latestApiVersion, negotiateApiVersion, type ApiVersion } from './api-versions';
export { BrowserGuard, CONSOLE_CSP, SECURITY_HEADERS } from './browser-guard';
export { loadTls, tlsMode, type TlsMaterial, type TlsMode } from './tls';
export { HttpServer, type HttpServerDeps, type ReadinessReport, type WebSocketEndpoint } from './http-server';
export type { VersionedRoute } from './versioned-routes';
