export { BrowserGuard } from './browser-guard';
export { loadTls, tlsMode, type TlsMaterial } from './tls';
export { HttpServer, type ReadinessReport } from './http-server';
