import DataLoader from 'dataloader';
import { MAX_PARENTS } from '../../contract/ops/jobs';
import type { OperationResult } from '../../contract/operations';

type Instance = OperationResult<'services.list'>['instances'][number];
type Source = OperationResult<'backup.sources.list'>['sources'][number];
type Verification = OperationResult<'backup.verifications.list'>['verifications'][number];
type Job = OperationResult<'jobs.list'>['jobs'][number];
type BatchReport = OperationResult<'batch.reports'>['reports'][number];
type Call = (operation: string, input: unknown) => Promise<unknown>;

/** How many children or verifications a relation reads at most (the operations' own page caps). */
export const RELATION_PAGE = { children: 500, verifications: 1000 } as const;

/** Rows grouped by the key they belong to, in the order of `keys` (a key with none gets an empty list). */
function groupBy<T>(keys: readonly string[], rows: readonly T[], keyOf: (row: T) => string | null): T[][] {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) {
    const key = keyOf(row);
    if (key !== null) groups.get(key)?.push(row);
  }
  return keys.map((key) => groups.get(key) as T[]);
}

/**
 * Per-request batching for the nested fields: each relation collects the keys one level of the
 * query asks for and reads them together, in one operation call through the dispatcher with the
 * request's caller (so roles hold on every level): a service's instances (`services.list`), a
 * snapshot's source (`backup.sources.list`), snapshots' verifications (`snapshotIds`), jobs'
 * children (`parentIds`) and batch reports (`batch.reports`). So a level costs one store read
 * however many rows it nests under.
 */
export class Loaders {
  readonly serviceInstances: DataLoader<string, Instance[]>;
  readonly backupSource: DataLoader<string, Source | null>;
  readonly snapshotVerifications: DataLoader<string, Verification[]>;
  readonly jobChildren: DataLoader<string, Job[]>;
  readonly batchReport: DataLoader<string, BatchReport | null>;

  constructor(call: Call) {
    const batched = { maxBatchSize: MAX_PARENTS };
    this.serviceInstances = new DataLoader(async (names) => {
      const input = names.length === 1 ? { name: names[0] } : {};
      const { instances } = (await call('services.list', input)) as OperationResult<'services.list'>;
      return groupBy(names, instances, (instance) => instance.name);
    });
    this.backupSource = new DataLoader(async (ids) => {
      const { sources } = (await call('backup.sources.list', {})) as OperationResult<'backup.sources.list'>;
      const byId = new Map(sources.map((source) => [source.id, source]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.snapshotVerifications = new DataLoader(async (snapshotIds) => {
      const input = { snapshotIds, limit: RELATION_PAGE.verifications };
      const { verifications } = (await call('backup.verifications.list', input)) as OperationResult<'backup.verifications.list'>;
      return groupBy(snapshotIds, verifications, (v) => v.snapshotId);
    }, batched);
    this.jobChildren = new DataLoader(async (parentIds) => {
      const { jobs } = (await call('jobs.list', { parentIds, limit: RELATION_PAGE.children })) as OperationResult<'jobs.list'>;
      return groupBy(parentIds, jobs, (job) => job.parentId);
    }, batched);
    this.batchReport = new DataLoader(async (ids) => {
      // A batch job that has not applied its batch yet has no report: it is left out, and its field is null.
      const { reports } = (await call('batch.reports', { ids })) as OperationResult<'batch.reports'>;
      const byId = new Map(reports.map((report) => [report.batchId, report]));
      return ids.map((id) => byId.get(id) ?? null);
    }, batched);
  }
}
