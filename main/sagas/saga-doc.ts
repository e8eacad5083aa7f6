import { Type, type Static } from '@sinclair/typebox';
import { PhError } from '../../contract/errors';
import { SagaStateSchema, SagaStepErrorSchema, SagaStepStateSchema } from '../../contract/ops/sagas';
import { idempotencyId, stepError, type NewSaga, type Saga, type SagaState, type StepError, type StoredStep } from './saga-store';

const Ms = Type.Union([Type.Number(), Type.Null()]);

const StepDocSchema = Type.Object({
  name: Type.String(),
  state: SagaStepStateSchema,
  attempts: Type.Integer({ minimum: 0 }),
  compensationAttempts: Type.Integer({ minimum: 0 }),
  /** What the action returned (absent until it did, or when it returned nothing). */
  result: Type.Optional(Type.Unknown()),
  errors: Type.Array(SagaStepErrorSchema),
  startedAt: Ms,
  finishedAt: Ms,
  compensatedAt: Ms,
});

/**
 * A saga and its steps as one document: the unit the fleet store writes to Redis (sealed) and to each
 * node's local copy. `rev` counts its writes, so the newest of several copies is known.
 */
export const SagaDocSchema = Type.Object({
  id: Type.String(),
  rev: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  state: SagaStateSchema,
  input: Type.Optional(Type.Unknown()),
  failure: Type.Union([Type.String(), Type.Null()]),
  cancelRequested: Type.Boolean(),
  idempotencyKey: Type.Union([Type.String(), Type.Null()]),
  jobId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
  finishedAt: Ms,
  steps: Type.Array(StepDocSchema),
});
export type SagaDoc = Static<typeof SagaDocSchema>;

export function newDoc(saga: NewSaga, now: number): SagaDoc {
  return {
    id: saga.id,
    rev: 1,
    type: saga.type,
    state: 'running',
    ...(saga.input === undefined ? {} : { input: saga.input }),
    failure: null,
    cancelRequested: false,
    idempotencyKey: saga.idempotencyKey ?? null,
    jobId: null,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    steps: saga.steps.map((name) => ({
      name,
      state: 'pending',
      attempts: 0,
      compensationAttempts: 0,
      errors: [],
      startedAt: null,
      finishedAt: null,
      compensatedAt: null,
    })),
  };
}

/** A change of a saga document, made in place; `false` when there was nothing to change (nothing is written). */
export type Mutation = (doc: SagaDoc, now: number) => boolean | void;

function step(doc: SagaDoc, idx: number): SagaDoc['steps'][number] {
  const s = doc.steps[idx];
  if (s === undefined) throw new PhError('PH_INTERNAL', `Saga ${doc.id} has no step ${idx}`);
  return s;
}

function beginCompensation(doc: SagaDoc, failure: string | null): void {
  doc.state = 'compensating';
  doc.failure ??= failure;
}

function finish(doc: SagaDoc, state: SagaState, now: number): void {
  doc.state = state;
  doc.finishedAt = now;
}

/** The same changes, one for one, as the SQLite store's statements (sqlite-saga-store.ts). */
export const mutations = {
  setJob:
    (jobId: string): Mutation =>
    (doc) => {
      doc.jobId = jobId;
    },
  requestCancel:
    (by: string): Mutation =>
    (doc) => {
      if (doc.state !== 'running') return false;
      doc.cancelRequested = true;
      doc.failure = `cancelled by ${by}`;
      return true;
    },
  actionStarted:
    (idx: number): Mutation =>
    (doc, now) => {
      const s = step(doc, idx);
      s.state = 'running';
      s.attempts += 1;
      s.startedAt ??= now;
    },
  actionDone:
    (idx: number, result: unknown): Mutation =>
    (doc, now) => {
      const s = step(doc, idx);
      s.state = 'done';
      if (result === undefined) delete s.result;
      else s.result = result;
      s.finishedAt = now;
    },
  recordError:
    (idx: number, phase: StepError['phase'], message: string): Mutation =>
    (doc, now) => {
      step(doc, idx).errors.push(stepError(now, phase, message));
    },
  actionFailed:
    (idx: number, failure: string): Mutation =>
    (doc, now) => {
      const s = step(doc, idx);
      s.state = 'failed';
      s.finishedAt = now;
      beginCompensation(doc, failure);
    },
  beginCompensation:
    (failure: string | null): Mutation =>
    (doc) => {
      beginCompensation(doc, failure);
    },
  compensationStarted:
    (idx: number): Mutation =>
    (doc) => {
      const s = step(doc, idx);
      s.state = 'compensating';
      s.compensationAttempts += 1;
    },
  compensated:
    (idx: number): Mutation =>
    (doc, now) => {
      const s = step(doc, idx);
      s.state = 'compensated';
      s.compensatedAt = now;
    },
  stuck:
    (idx: number): Mutation =>
    (doc, now) => {
      step(doc, idx).state = 'stuck';
      finish(doc, 'stuck', now);
    },
  finish:
    (state: SagaState): Mutation =>
    (doc, now) => {
      finish(doc, state, now);
    },
};

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function docToSaga(doc: SagaDoc): Saga {
  return {
    id: doc.id,
    type: doc.type,
    state: doc.state,
    input: doc.input ?? null,
    failure: doc.failure,
    cancelRequested: doc.cancelRequested,
    jobId: doc.jobId,
    createdAt: new Date(doc.createdAt).toISOString(),
    updatedAt: new Date(doc.updatedAt).toISOString(),
    finishedAt: iso(doc.finishedAt),
    steps: doc.steps.map((s) => ({
      name: s.name,
      state: s.state,
      attempts: s.attempts,
      compensationAttempts: s.compensationAttempts,
      idempotencyId: idempotencyId(doc.id, s.name, 'action'),
      errors: s.errors,
      startedAt: iso(s.startedAt),
      finishedAt: iso(s.finishedAt),
      compensatedAt: iso(s.compensatedAt),
    })),
  };
}

export function docSteps(doc: SagaDoc): StoredStep[] {
  return doc.steps.map((s, idx) => ({
    idx,
    name: s.name,
    state: s.state,
    attempts: s.attempts,
    compensationAttempts: s.compensationAttempts,
    result: s.result,
  }));
}
