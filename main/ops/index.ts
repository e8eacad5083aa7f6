export { OperationDispatcher } from './operation-dispatcher';
