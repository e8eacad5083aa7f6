import { setTimeout as sleep } from 'node:timers/promises';
import type { JobContext } from '../batch';
import { idempotencyId, type SagaState, type SagaStore, type StoredStep } from './saga-store';
import {
  backoffFor,
  DEFAULT_COMPENSATION_RETRY,
  DEFAULT_RETRY,
  DEFAULT_STEP_TIMEOUT_MS,
  type RetryPolicy,
  type SagaStepContext,
  type SagaStepDefinition,
  type SagaType,
} from './saga-types';

/** A try that ran past its step's timeout. */
class StepTimedOut extends Error {
  constructor(ms: number) {
    super(`The step timed out after ${ms} ms`);
    this.name = 'StepTimedOut';
  }
}

export interface SagaRunnerDeps {
  readonly store: SagaStore;
  /** Told of every state change (the console's `sagas.changed`). */
  readonly changed: (id: string, type: string, state: SagaState) => void;
  /** Told when a compensation gave up: the alert. */
  readonly stuck: (id: string, type: string, step: string, attempts: number, error: string) => void;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Runs one saga from wherever its stored state says it is: the job `saga.run` calls this on every
 * attempt, so a saga whose node was killed mid-step resumes at that step (with the same idempotency
 * id), and one killed mid-compensation resumes that compensation. Steps already done are never run
 * again, steps already compensated never compensated again.
 */
export class SagaRunner {
  constructor(private readonly deps: SagaRunnerDeps) {}

  async run(sagaId: string, type: SagaType, job: JobContext): Promise<SagaState> {
    const { store } = this.deps;
    let head = await store.head(sagaId);
    if (head.state === 'running') {
      for (const step of await store.steps(sagaId)) {
        if (step.state === 'done') continue;
        head = await store.head(sagaId);
        if (head.cancelRequested) {
          await store.beginCompensation(sagaId, null);
          break;
        }
        const definition = type.steps[step.idx] as SagaStepDefinition;
        if (!(await this.#forward(sagaId, type, definition, step, head.input, job))) break;
      }
      head = await store.head(sagaId);
      if (head.state === 'running') return this.#finish(sagaId, type, 'completed');
    }
    if (head.state !== 'compensating') return head.state;
    for (const step of (await store.steps(sagaId)).reverse()) {
      if (step.state !== 'done' && step.state !== 'compensating') continue;
      const definition = type.steps[step.idx] as SagaStepDefinition;
      if (!(await this.#compensate(sagaId, type, definition, step, head.input, job))) return 'stuck';
    }
    return this.#finish(sagaId, type, head.cancelRequested ? 'cancelled' : 'compensated');
  }

  async #finish(sagaId: string, type: SagaType, state: SagaState): Promise<SagaState> {
    await this.deps.store.finish(sagaId, state);
    this.deps.changed(sagaId, type.type, state);
    return state;
  }

  /** Tries a step's action per its policy; false when it failed for good (the saga now compensates). */
  async #forward(
    sagaId: string,
    type: SagaType,
    def: SagaStepDefinition,
    step: StoredStep,
    input: unknown,
    job: JobContext,
  ): Promise<boolean> {
    const { store } = this.deps;
    const policy = def.retry ?? DEFAULT_RETRY;
    for (;;) {
      const attempt = await store.actionStarted(sagaId, step.idx);
      this.deps.changed(sagaId, type.type, 'running');
      try {
        const result = await this.#try(def.timeoutMs, job, async (signal) =>
          def.action(await this.#context(sagaId, def, 'action', attempt, input, signal, job)),
        );
        await store.actionDone(sagaId, step.idx, result);
        return true;
      } catch (err) {
        if (job.signal.aborted) throw job.signal.reason;
        await store.recordError(sagaId, step.idx, 'action', message(err));
        if (attempt >= policy.attempts) {
          await store.actionFailed(sagaId, step.idx, `${def.name}: ${message(err)}`);
          this.deps.changed(sagaId, type.type, 'compensating');
          return false;
        }
        await this.#wait(policy, attempt, job);
      }
    }
  }

  /** Tries a compensation until it succeeds or its policy runs out; false when it is stuck. */
  async #compensate(
    sagaId: string,
    type: SagaType,
    def: SagaStepDefinition,
    step: StoredStep,
    input: unknown,
    job: JobContext,
  ): Promise<boolean> {
    const { store } = this.deps;
    const policy = def.compensationRetry ?? DEFAULT_COMPENSATION_RETRY;
    const undo = def.compensate;
    for (;;) {
      const attempt = await store.compensationStarted(sagaId, step.idx);
      this.deps.changed(sagaId, type.type, 'compensating');
      try {
        if (undo !== undefined)
          await this.#try(def.timeoutMs, job, async (signal) =>
            undo(await this.#context(sagaId, def, 'compensation', attempt, input, signal, job), step.result),
          );
        await store.compensated(sagaId, step.idx);
        return true;
      } catch (err) {
        if (job.signal.aborted) throw job.signal.reason;
        await store.recordError(sagaId, step.idx, 'compensation', message(err));
        if (attempt >= policy.attempts) {
          await store.stuck(sagaId, step.idx);
          this.deps.changed(sagaId, type.type, 'stuck');
          this.deps.stuck(sagaId, type.type, def.name, attempt, message(err));
          return false;
        }
        await this.#wait(policy, attempt, job);
      }
    }
  }

  async #context(
    sagaId: string,
    def: SagaStepDefinition,
    phase: 'action' | 'compensation',
    attempt: number,
    input: unknown,
    signal: AbortSignal,
    job: JobContext,
  ): Promise<SagaStepContext> {
    const results = Object.fromEntries(
      (await this.deps.store.steps(sagaId)).filter((s) => s.state !== 'pending' && s.result !== undefined).map((s) => [s.name, s.result]),
    );
    return {
      sagaId,
      step: def.name,
      idempotencyId: idempotencyId(sagaId, def.name, phase),
      attempt,
      input,
      results,
      signal,
      log: (line: string) => job.log(`${def.name} (${phase}): ${line}`),
    };
  }

  /** One try with the step's timeout; the job's own abort (shutdown, cancel) ends it too. */
  async #try(timeoutMs: number | undefined, job: JobContext, fn: (signal: AbortSignal) => unknown): Promise<unknown> {
    const ms = timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new StepTimedOut(ms)), ms);
    const signal = AbortSignal.any([job.signal, timeout.signal]);
    try {
      return await new Promise<unknown>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        Promise.resolve()
          .then(() => fn(signal))
          .then(resolve, reject);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async #wait(policy: RetryPolicy, failedTries: number, job: JobContext): Promise<void> {
    await sleep(backoffFor(policy, failedTries), undefined, { signal: job.signal });
  }
}
