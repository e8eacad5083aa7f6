export { BrowserGuard } from './browser-guard';
export { loadTls, tlsMode, type TlsMaterial } from './tls';
export { HttpServer, type ReadinessReport, type WebSocketEndpoint } from './http-server';
export { upgradesByPath, type UpgradeRefusal } from './upgrade-routes';
