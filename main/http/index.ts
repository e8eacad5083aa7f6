export { HttpServer, type ReadinessReport } from './http-server';
