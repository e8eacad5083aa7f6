import type { Database } from 'better-sqlite3';

export type BatchAction = 'create' | 'update' | 'delete' | 'custom';
export type BatchMode = 'atomic' | 'non-atomic';
export type OpStatus = 'pending' | 'succeeded' | 'failed' | 'skipped';

/** One operation of a batch, as the JSON form carries it. */
export interface BatchOp {
  readonly resource: string;
  readonly action: BatchAction;
  /** The resource's id, for update and delete (and create when the caller picks it). */
  readonly id?: string;
  readonly data?: unknown;
  /** For `custom`: which custom action the resource type registered. */
  readonly name?: string;
}

/** The JSON form of a batch: what `batch.submit` and `POST /api/v1/batches` take. */
export interface BatchSpec {
  readonly mode?: BatchMode;
  readonly operations: readonly BatchOp[];
  /** Non-atomic only: keep going after a failed operation (default true); false skips the rest. */
  readonly continueOnError?: boolean;
}

export interface OpContext {
  /** The database, inside the operation's transaction: write through it and the write is atomic with the batch. */
  readonly db: Database;
  readonly batchId: string;
  readonly index: number;
}

/** A validator returns an error message (or throws) to refuse an operation; nothing is applied then. */
export type Validator = (op: BatchOp, ctx: OpContext) => string | null | undefined | void;
/** Handlers run inside a SQLite transaction, so they are synchronous; the return value is the op's result. */
export type OpHandler = (op: BatchOp, ctx: OpContext) => unknown;

export interface BatchHookContext {
  readonly batchId: string;
  readonly mode: BatchMode;
}

/** Hooks of one resource type. before* run inside the transaction (and may throw to refuse); after* run once per committed op, after commit, from the outbox. */
export interface ResourceHooks {
  beforeBatch?(ops: readonly BatchOp[], ctx: BatchHookContext & { readonly db: Database }): void;
  beforeOperation?(op: BatchOp, ctx: OpContext): void;
  afterOperation?(op: BatchOp, ctx: BatchHookContext & { readonly index: number; readonly deliveryId: string }): void | Promise<void>;
  afterBatch?(ctx: BatchHookContext & { readonly committed: number }): void | Promise<void>;
}

export interface ResourceDefinition {
  readonly handlers: Partial<Record<Exclude<BatchAction, 'custom'>, OpHandler>> & { readonly custom?: Record<string, OpHandler> };
  readonly validators?: Partial<Record<BatchAction | '*', Validator>>;
  readonly hooks?: ResourceHooks;
}

export interface OpReport {
  readonly index: number;
  status: OpStatus;
  error?: { code: string; message: string };
  result?: unknown;
}

export interface BatchReport {
  readonly batchId: string;
  readonly mode: BatchMode;
  status: 'running' | 'succeeded' | 'failed' | 'partial';
  counts: Record<OpStatus, number>;
  errors: { index: number; code: string; message: string }[];
  operations: OpReport[];
  startedAt: string;
  finishedAt: string | null;
  durationMs: number;
}
