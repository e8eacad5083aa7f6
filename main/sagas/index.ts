export { Sagas, SAGA_JOB_TYPE, type SagasDeps } from './sagas';
export { sagaMigrations } from './migrations';
export { sagaHandlers } from './operations';
export type { Saga, SagaState, SagaStore } from './saga-store';
export { DEFAULT_SAGA_KEEP_MS } from './redis-saga-store';
export type { RetryPolicy, SagaStepContext, SagaStepDefinition, SagaType } from './saga-types';
export { shiftTrafficSaga, type CallOperation } from './builtin-sagas';
