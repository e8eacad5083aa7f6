import type { Static } from '@sinclair/typebox';
import type { SagaSchema, SagaStateSchema, SagaStepStateSchema } from '../../contract/ops/sagas';

export type Saga = Static<typeof SagaSchema>;
export type SagaState = Static<typeof SagaStateSchema>;
export type SagaStepState = Static<typeof SagaStepStateSchema>;
export type StepError = Saga['steps'][number]['errors'][number];

/** A step as the runner reads it back: its state, tries and what its action returned. */
export interface StoredStep {
  readonly idx: number;
  readonly name: string;
  readonly state: SagaStepState;
  readonly attempts: number;
  readonly compensationAttempts: number;
  readonly result: unknown;
}

/** The saga's type, state, input and whether a cancel was asked, as the runner reads them. */
export interface SagaHead {
  readonly type: string;
  readonly state: SagaState;
  readonly input: unknown;
  readonly cancelRequested: boolean;
}

export interface NewSaga {
  readonly id: string;
  readonly type: string;
  readonly input: unknown;
  readonly idempotencyKey?: string;
  readonly steps: readonly string[];
}

export interface SagaFilter {
  readonly state?: SagaState;
  readonly type?: string;
  readonly limit?: number;
  readonly offset?: number;
}

export const ENDED_STATES: readonly SagaState[] = ['completed', 'compensated', 'cancelled', 'stuck'];

/**
 * Where sagas and their steps are kept: one node's SQLite (sqlite-saga-store.ts), or, with Redis,
 * the fleet's Redis with a local copy on each node that wrote (redis-saga-store.ts). Every change is
 * one atomic write, so a kill -9 leaves a state to resume from.
 */
export interface SagaStore {
  /** Creates a saga and its pending steps; a known idempotency key returns the saga it made before. */
  create(saga: NewSaga): Promise<{ id: string; created: boolean }>;
  setJob(id: string, jobId: string): Promise<void>;
  get(id: string): Promise<Saga>;
  list(filter: SagaFilter): Promise<{ sagas: Saga[]; total: number }>;
  head(id: string): Promise<SagaHead>;
  steps(id: string): Promise<StoredStep[]>;
  /** Asks a running saga to stop; false when it is already compensating or ended. */
  requestCancel(id: string, by: string): Promise<boolean>;
  /** A try of the action begins: counted before it runs, so a try a crash cut short still counts. Returns the try's number. */
  actionStarted(id: string, idx: number): Promise<number>;
  actionDone(id: string, idx: number, result: unknown): Promise<void>;
  recordError(id: string, idx: number, phase: StepError['phase'], message: string): Promise<void>;
  /** The step's action failed for good: the step is `failed` and the saga `compensating`, in one write. */
  actionFailed(id: string, idx: number, failure: string): Promise<void>;
  beginCompensation(id: string, failure: string | null): Promise<void>;
  compensationStarted(id: string, idx: number): Promise<number>;
  compensated(id: string, idx: number): Promise<void>;
  /** A compensation kept failing: the step and the saga are stuck, in one write. */
  stuck(id: string, idx: number): Promise<void>;
  finish(id: string, state: SagaState): Promise<void>;
}

/** The id a step's action or compensation receives, the same on every try. */
export function idempotencyId(sagaId: string, step: string, phase: 'action' | 'compensation'): string {
  return `${sagaId}:${step}:${phase}`;
}

/** An error's message as a step's error list keeps it. */
export function stepError(at: number, phase: StepError['phase'], message: string): StepError {
  return { at: new Date(at).toISOString(), phase, message: message.slice(0, 2_000) };
}
