export { systemHandlers, type SystemStatus } from './operations';
export { StatusPublisher } from './status-publisher';
