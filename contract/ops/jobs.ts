import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

/** How many parents one read of their children (or batches one read of their reports) may name. */
export const MAX_PARENTS = 100;

export const JobStateSchema = Type.Union([
  Type.Literal('waiting'),
  Type.Literal('delayed'),
  Type.Literal('active'),
  Type.Literal('waiting-children'),
  Type.Literal('completed'),
  Type.Literal('dead'),
  Type.Literal('cancelled'),
]);

const ChildPolicySchema = Type.Union([Type.Literal('fail-parent'), Type.Literal('ignore'), Type.Literal('continue-parent')]);

export const JobInfoSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  payload: Type.Unknown(),
  state: JobStateSchema,
  priority: Type.Integer(),
  runAt: Type.String(),
  attemptsMade: Type.Integer(),
  maxAttempts: Type.Integer(),
  timeoutMs: Type.Union([Type.Integer(), Type.Null()]),
  idempotencyKey: Type.Union([Type.String(), Type.Null()]),
  repeatCron: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Type.String(), Type.Null()]),
  childPolicy: ChildPolicySchema,
  pendingChildren: Type.Integer(),
  progress: Type.Number(),
  progressMessage: Type.Union([Type.String(), Type.Null()]),
  result: Type.Unknown(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  errors: Type.Array(Type.String()),
  cancelRequested: Type.Boolean(),
  createdAt: Type.String(),
  startedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  createdBy: Type.Union([Type.String(), Type.Null()], {
    description: 'Who enqueued it, as the audit log names callers (key:<id>, desktop); null when not recorded',
  }),
  node: Type.Union([Type.String(), Type.Null()], { description: 'The node the job must run on (its target is there); null: any node' }),
  waitingFor: Type.Union([Type.String(), Type.Null()], { description: 'Why a waiting job is not running, e.g. its node is offline' }),
});

const jobSpecFields = {
  type: Type.String({
    minLength: 1,
    maxLength: 100,
    pattern: '^[A-Za-z0-9_.:-]+$',
    description: "1-100 letters, digits, '_', '.', ':' or '-'",
  }),
  payload: Type.Optional(Type.Unknown()),
  priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100 })),
  delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 366 * 24 * 3600_000 })),
  attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  backoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600_000 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 3600_000 })),
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
};

export const JobSpecSchema = Type.Object(
  {
    ...jobSpecFields,
    repeat: Type.Optional(Type.Object({ cron: Type.String({ minLength: 1, maxLength: 100 }) })),
    children: Type.Optional(
      Type.Array(Type.Object({ ...jobSpecFields, policy: Type.Optional(ChildPolicySchema) }, { additionalProperties: false }), {
        maxItems: 1000,
      }),
    ),
  },
  { additionalProperties: false },
);

const CountsSchema = Type.Object({
  waiting: Type.Integer(),
  delayed: Type.Integer(),
  active: Type.Integer(),
  'waiting-children': Type.Integer(),
  completed: Type.Integer(),
  dead: Type.Integer(),
  cancelled: Type.Integer(),
});

export const QueueCountsSchema = Type.Object({
  type: Type.String(),
  concurrency: Type.Integer(),
  running: Type.Integer(),
  counts: CountsSchema,
  throughput: Type.Array(Type.Object({ at: Type.String(), completed: Type.Integer(), failed: Type.Integer() })),
});

export const BatchOpSchema = Type.Object(
  {
    resource: Type.String({ minLength: 1, maxLength: 100 }),
    action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete'), Type.Literal('custom')]),
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    data: Type.Optional(Type.Unknown()),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

export const BatchSpecSchema = Type.Object(
  {
    mode: Type.Optional(Type.Union([Type.Literal('atomic'), Type.Literal('non-atomic')])),
    continueOnError: Type.Optional(Type.Boolean()),
    operations: Type.Array(BatchOpSchema, { minItems: 1, maxItems: 10_000 }),
  },
  { additionalProperties: false },
);

const OpStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('skipped')]);
const ErrorByIndexSchema = Type.Object({ index: Type.Integer(), code: Type.String(), message: Type.String() });

export const BatchReportSchema = Type.Object({
  batchId: Type.String(),
  node: Type.Optional(Type.String({ description: 'The node whose database the batch was applied to, when read from the fleet' })),
  mode: Type.Union([Type.Literal('atomic'), Type.Literal('non-atomic')]),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('partial')]),
  counts: Type.Object({ pending: Type.Integer(), succeeded: Type.Integer(), failed: Type.Integer(), skipped: Type.Integer() }),
  errors: Type.Array(ErrorByIndexSchema),
  operations: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: OpStatusSchema,
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
      result: Type.Optional(Type.Unknown()),
    }),
  ),
  startedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Number(),
});

export const JobChangedSchema = Type.Object({ id: Type.String(), type: Type.String(), state: Type.String(), removed: Type.Boolean() });
export const JobProgressSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  progress: Type.Number(),
  message: Type.Union([Type.String(), Type.Null()]),
});

const IdInput = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

export const jobsOperations = {
  'jobs.stats': defineOperation({
    summary: 'Each job type: counts per state, running and concurrency, and throughput over the last minutes',
    input: Type.Object({}),
    output: Type.Object({
      backend: Type.Union([Type.Literal('sqlite'), Type.Literal('bullmq')]),
      types: Type.Array(Type.String()),
      enqueueable: Type.Array(Type.String(), { description: 'The types jobs.enqueue takes: all but those Pilothouse enqueues itself' }),
      queues: Type.Array(QueueCountsSchema),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'jobs.list': defineOperation({
    summary: 'Jobs, newest (or oldest) first, filtered by state, type, parent, creation time or a search, a page at a time',
    input: Type.Object(
      {
        state: Type.Optional(JobStateSchema),
        type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        parentId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        search: Type.Optional(
          Type.String({ minLength: 1, maxLength: 200, description: "A job's id, its idempotency key, or a part of its type" }),
        ),
        createdAfter: Type.Optional(Type.String({ format: 'date-time', description: 'Only jobs created at or after this instant' })),
        createdBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Only jobs created before this instant' })),
        sort: Type.Optional(Type.Union([Type.Literal('newest'), Type.Literal('oldest')], { description: 'Default newest' })),
        parentIds: Type.Optional(
          Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
            minItems: 1,
            maxItems: MAX_PARENTS,
            description: 'The children of each of these jobs in one read, up to `limit` per parent (not with parentId or offset)',
          }),
        ),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        cursor: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 1000,
            description:
              "The previous page's nextCursor: the jobs after its last one in the list's order (jobs enqueued since are not repeated)",
          }),
        ),
        offset: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 100_000,
            description: 'Jobs to skip; a page is read from the newest, so deep pages cost more (prefer cursor)',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({
      jobs: Type.Array(JobInfoSchema),
      total: Type.Integer({ description: 'Every job the filters match, on every page' }),
      nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last' }),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'jobs.get': defineOperation({
    summary: 'One job: payload, attempts and errors, its log and its children',
    input: IdInput,
    output: Type.Object({
      job: JobInfoSchema,
      logs: Type.Array(Type.Object({ at: Type.String(), message: Type.String() })),
      children: Type.Array(JobInfoSchema),
      timeline: Type.Array(Type.Object({ at: Type.String(), progress: Type.Number(), message: Type.Union([Type.String(), Type.Null()]) }), {
        description: 'Progress over time, oldest first: at most one point a second, the first 300',
      }),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'jobs.attempts': defineOperation({
    summary: 'Every failed attempt of a job, oldest first, with its error and the stack it was thrown with (operators only)',
    input: IdInput,
    output: Type.Object({
      attempts: Type.Array(
        Type.Object({
          attempt: Type.Integer(),
          at: Type.Union([Type.String(), Type.Null()], { description: 'When it failed; null where the queue keeps no time for it' }),
          error: Type.String(),
          stack: Type.Union([Type.String(), Type.Null()]),
        }),
      ),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'jobs.promote': defineOperation({
    summary: 'Run a delayed job now instead of at its time',
    input: IdInput,
    output: Type.Object({ job: JobInfoSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'jobs.retryDead': defineOperation({
    summary: 'Run every dead job of one type again, with its attempts reset (jobs.list with state dead and the type counts them first)',
    input: Type.Object(
      {
        type: Type.String({ minLength: 1, maxLength: 100 }),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'At most this many, oldest first; default 10000' })),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({
      retried: Type.Integer(),
      failed: Type.Array(Type.Object({ id: Type.String(), code: Type.String() }), { description: 'Jobs that could not be retried' }),
    }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'jobs.enqueue': defineOperation({
    summary: 'Add a job (with children, a delay, a priority, retries, a timeout, an idempotency key or a cron repeat)',
    input: JobSpecSchema,
    output: Type.Object({ job: JobInfoSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'counted',
  }),
  'jobs.cancel': defineOperation({
    summary: 'Cancel a waiting job, or abort a running one through its AbortSignal',
    input: IdInput,
    output: Type.Object({ job: JobInfoSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'jobs.retry': defineOperation({
    summary: 'Run a dead or cancelled job again, with its attempts reset',
    input: IdInput,
    output: Type.Object({ job: JobInfoSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'jobs.delete': defineOperation({
    summary: 'Delete a job that is not running (its waiting children are cancelled)',
    input: IdInput,
    output: Type.Object({ deleted: Type.Boolean() }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'batch.submit': defineOperation({
    summary: 'Apply a batch of operations now (atomic or not), or with background: true as a batch.apply job',
    input: Type.Object({ batch: BatchSpecSchema, background: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    output: Type.Object({ report: Type.Union([BatchReportSchema, Type.Null()]), jobId: Type.Union([Type.String(), Type.Null()]) }),
    minRole: 'operator',
    mutating: true,
    audit: 'counted',
  }),
  'batch.status': defineOperation({
    summary: "A batch's report: per-operation status, errors by index, counts and duration",
    input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
    output: BatchReportSchema,
    minRole: 'viewer',
    mutating: false,
  }),
  'batch.reports': defineOperation({
    summary: "Several batches' reports in one read; a batch with no report (unknown, or not applied yet) is left out",
    input: Type.Object(
      { ids: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: MAX_PARENTS }) },
      { additionalProperties: false },
    ),
    output: Type.Object({ reports: Type.Array(BatchReportSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'batch.list': defineOperation({
    summary: 'Recent batches, newest first',
    input: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false }),
    output: Type.Object({
      batches: Type.Array(
        Type.Object({
          batchId: Type.String(),
          mode: Type.String(),
          status: Type.String(),
          createdAt: Type.String(),
          finishedAt: Type.Union([Type.String(), Type.Null()]),
          node: Type.Optional(Type.String({ description: 'The node whose database the batch was applied to' })),
        }),
      ),
      resources: Type.Array(Type.String()),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
} as const;
