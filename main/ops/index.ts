export { OperationDispatcher } from './operation-dispatcher';
export type { HandlersFor, OperationHandler, OperationHandlers, OperationObserver } from './operation-dispatcher';
