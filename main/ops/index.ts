export { OperationDispatcher } from './operation-dispatcher';
export type { HandlersFor, OperationHandler, OperationHandlers, OperationObserver } from './operation-dispatcher';
export { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth';
