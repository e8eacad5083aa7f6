import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';
import { RoleSchema } from './security';

/**
 * `running`: steps go forward. `compensating`: a step failed (or the saga was cancelled) and the
 * completed steps are being undone, newest first. The saga ends `completed`, `compensated` (after a
 * failure), `cancelled` (compensated after a cancel) or `stuck` (a compensation kept failing: an
 * operator must look; an alert went out).
 */
export const SagaStateSchema = Type.Union([
  Type.Literal('running'),
  Type.Literal('compensating'),
  Type.Literal('completed'),
  Type.Literal('compensated'),
  Type.Literal('cancelled'),
  Type.Literal('stuck'),
]);

export const SagaStepStateSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('done'),
  Type.Literal('failed'),
  Type.Literal('compensating'),
  Type.Literal('compensated'),
  Type.Literal('stuck'),
]);

export const SagaStepErrorSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  phase: Type.Union([Type.Literal('action'), Type.Literal('compensation')]),
  message: Type.String(),
});

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const SagaStepSchema = Type.Object({
  name: Type.String(),
  state: SagaStepStateSchema,
  /** Attempts of the action so far (a re-run after a crash counts). */
  attempts: Type.Integer({ minimum: 0 }),
  compensationAttempts: Type.Integer({ minimum: 0 }),
  /** The id the action receives, the same on every attempt: the step is idempotent by it. */
  idempotencyId: Type.String(),
  /** Each failed attempt's error, oldest first (the action's, then the compensation's). */
  errors: Type.Array(SagaStepErrorSchema),
  startedAt: Time,
  finishedAt: Time,
  compensatedAt: Time,
});

export const SagaSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  state: SagaStateSchema,
  input: Type.Unknown(),
  /** Why it is compensating or ended so: the failed step's error, or `cancelled by …`. */
  failure: Type.Union([Type.String(), Type.Null()]),
  cancelRequested: Type.Boolean(),
  /** The job that runs it on the queue. */
  jobId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: Time,
  steps: Type.Array(SagaStepSchema),
});

export const SagaTypeInfoSchema = Type.Object({
  type: Type.String(),
  description: Type.String(),
  steps: Type.Array(Type.String()),
  startRole: RoleSchema,
});

/** What `sagas.changed` carries: enough for a list to refresh one row. */
export const SagaChangedSchema = Type.Object({ id: Type.String(), type: Type.String(), state: SagaStateSchema });

export const sagasOperations = {
  'sagas.start': defineOperation({
    summary: 'Start a saga of a registered type; it runs on the job queue and survives restarts',
    input: Type.Object({
      type: Type.String({ minLength: 1, maxLength: 100 }),
      input: Type.Optional(Type.Unknown()),
      /** A second start with the same key returns the first saga. */
      idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    }),
    output: Type.Object({ saga: SagaSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'sagas.get': defineOperation({
    summary: "One saga with each step's state, attempts and errors",
    input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
    output: Type.Object({ saga: SagaSchema }),
    minRole: 'viewer',
    mutating: false,
  }),
  'sagas.list': defineOperation({
    summary: 'Sagas, newest first (?state=&type=&limit=&offset=), and the registered saga types',
    input: Type.Object({
      state: Type.Optional(SagaStateSchema),
      type: Type.Optional(Type.String({ maxLength: 100 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'Sagas to skip' })),
    }),
    output: Type.Object({ sagas: Type.Array(SagaSchema), total: Type.Integer(), types: Type.Array(SagaTypeInfoSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'sagas.cancel': defineOperation({
    summary: 'Cancel a running saga: the step in flight finishes with the tries it has left, then the completed steps are compensated',
    input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
    output: Type.Object({ saga: SagaSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
} as const;
