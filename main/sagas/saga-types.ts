import type { Role } from '../../contract/roles';

/** How often, and how far apart, a step's action or compensation is tried. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Wait before the second try; doubled each time after, up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs?: number;
}

/** What a step's action or compensation receives. */
export interface SagaStepContext<I = unknown> {
  readonly sagaId: string;
  readonly step: string;
  /**
   * The same on every try of this step's action (`<saga>:<step>:action`), or of its compensation
   * (`<saga>:<step>:compensation`), across crashes and nodes: a step makes its effect idempotent by
   * it (a unique key in a table, an idempotency header to a remote service).
   */
  readonly idempotencyId: string;
  /** 1 for the first try; a re-run after a crash counts on. */
  readonly attempt: number;
  readonly input: I;
  /** What the completed steps before this one returned, by step name. */
  readonly results: Readonly<Record<string, unknown>>;
  /** Aborted on the step's timeout and when the node shuts down. */
  readonly signal: AbortSignal;
  log(message: string): void;
}

export interface SagaStepDefinition<I = unknown> {
  readonly name: string;
  /** Does the step; what it returns (JSON) is kept and handed to its compensation and to later steps. */
  action(ctx: SagaStepContext<I>): unknown;
  /** Undoes the action, given what it returned. A step without one has nothing to undo. */
  compensate?(ctx: SagaStepContext<I>, result: unknown): unknown;
  /** Default 3 tries, 1 s apart then doubling. */
  readonly retry?: RetryPolicy;
  /** Default 10 tries: after the last, the step and the saga are `stuck` and an alert goes out. */
  readonly compensationRetry?: RetryPolicy;
  /** Per try of the action and of the compensation; default 30 s. */
  readonly timeoutMs?: number;
}

/** A saga type, declared in code and registered like a job type. */
export interface SagaType<I = unknown> {
  readonly type: string;
  readonly description: string;
  /**
   * Who may start it. Its steps call operations as the system, so this is at least the role of every
   * operation they call: a lower role must not reach through a saga what it cannot call itself.
   * Default `operator`, what `sagas.start` needs.
   */
  readonly startRole?: Role;
  readonly steps: readonly SagaStepDefinition<I>[];
  /**
   * With Redis: the node whose files the saga acts on (a backup repository), named at start. Its job
   * runs on that node and waits for it while it is down; absent or null: any live node runs it.
   */
  readonly node?: (input: I) => string | null | Promise<string | null>;
  /** Throws a coded error (`PH_INVALID_INPUT`) for an input the steps cannot use, so `sagas.start` refuses it. */
  readonly validateInput?: (input: unknown) => void;
  /**
   * After `validateInput`, what the input names must exist now (a service's instances): throws a
   * coded error, so `sagas.start` refuses at once rather than a step failing its tries.
   */
  readonly checkInput?: (input: I) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1_000, maxBackoffMs: 30_000 };
export const DEFAULT_COMPENSATION_RETRY: RetryPolicy = { attempts: 10, backoffMs: 1_000, maxBackoffMs: 60_000 };
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

export function backoffFor(policy: RetryPolicy, failedTries: number): number {
  return Math.min(policy.maxBackoffMs ?? Number.POSITIVE_INFINITY, policy.backoffMs * 2 ** Math.max(0, failedTries - 1));
}
