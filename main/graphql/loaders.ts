import DataLoader from 'dataloader';
import { PhError } from '../../contract/errors';
import type { OperationResult } from '../../contract/operations';

type Instance = OperationResult<'services.list'>['instances'][number];
type Source = OperationResult<'backup.sources.list'>['sources'][number];
type Verification = OperationResult<'backup.verifications.list'>['verifications'][number];
type Job = OperationResult<'jobs.list'>['jobs'][number];
type BatchReport = OperationResult<'batch.status'>;
type Call = (operation: string, input: unknown) => Promise<unknown>;

/** How many children or verifications a relation reads at most (the operations' own page caps). */
export const RELATION_PAGE = { children: 500, verifications: 1000 } as const;

/**
 * Per-request batching for the nested fields: each relation collects the keys one level of the
 * query asks for and reads them together, through the dispatcher with the request's caller (so
 * roles hold on every level). A service's instances and a snapshot's source are one read for the
 * whole level; children, verifications and batch reports are one read per distinct parent (the
 * contract reads them by one parent), each made once per request however often it is asked.
 */
export class Loaders {
  readonly serviceInstances: DataLoader<string, Instance[]>;
  readonly backupSource: DataLoader<string, Source | null>;
  readonly snapshotVerifications: DataLoader<string, Verification[]>;
  readonly jobChildren: DataLoader<string, Job[]>;
  readonly batchReport: DataLoader<string, BatchReport | null>;

  constructor(call: Call) {
    this.serviceInstances = new DataLoader(async (names) => {
      const input = names.length === 1 ? { name: names[0] } : {};
      const { instances } = (await call('services.list', input)) as OperationResult<'services.list'>;
      return names.map((name) => instances.filter((instance) => instance.name === name));
    });
    this.backupSource = new DataLoader(async (ids) => {
      const { sources } = (await call('backup.sources.list', {})) as OperationResult<'backup.sources.list'>;
      const byId = new Map(sources.map((source) => [source.id, source]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.snapshotVerifications = new DataLoader((ids) =>
      Promise.all(
        ids.map(async (snapshotId) => {
          const input = { snapshotId, limit: RELATION_PAGE.verifications };
          return ((await call('backup.verifications.list', input)) as OperationResult<'backup.verifications.list'>).verifications;
        }),
      ),
    );
    this.jobChildren = new DataLoader((ids) =>
      Promise.all(
        ids.map(async (parentId) => {
          const input = { parentId, limit: RELATION_PAGE.children };
          return ((await call('jobs.list', input)) as OperationResult<'jobs.list'>).jobs;
        }),
      ),
    );
    this.batchReport = new DataLoader((ids) =>
      Promise.all(
        ids.map(async (id) => {
          try {
            return (await call('batch.status', { id })) as BatchReport;
          } catch (err) {
            // A batch job that has not applied its batch yet has no report.
            if (err instanceof PhError && err.code === 'PH_BATCH_NOT_FOUND') return null;
            throw err;
          }
        }),
      ),
    );
  }
}
