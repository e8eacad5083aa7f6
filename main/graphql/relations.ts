import { GraphQLList, GraphQLNonNull, type GraphQLFieldConfigMap, type GraphQLNamedType, type GraphQLOutputType } from 'graphql';
import type { OperationResult } from '../../contract/operations';
import type { GraphqlContext } from './context';
import type { ExtraFields } from './type-mapper';

type Job = OperationResult<'jobs.list'>['jobs'][number];

/** The batch a `batch.apply` job applies: named in its payload (or result), else the engine's default. */
function batchIdOf(job: Job): string | null {
  if (job.type !== 'batch.apply') return null;
  for (const holder of [job.result, job.payload]) {
    const id = (holder as { batchId?: unknown } | null)?.batchId;
    if (typeof id === 'string' && id !== '') return id;
  }
  return `job-${job.id}`;
}

/** How much a relation's list is counted as in a query's cost, when its size is not known. */
export const RELATION_LIST_COST = 10;

/**
 * The nested fields the console otherwise needs several calls for: a service's instances (with
 * their checks), a snapshot's source and verifications, a job's children and batch report. Each
 * reads through the request's loaders, so a level of the query costs one read, not one per row.
 */
export function relations(type: (name: string) => GraphQLNamedType): ExtraFields {
  const list = (name: string): GraphQLOutputType => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type(name) as never)));
  const one = (name: string): GraphQLOutputType => type(name) as GraphQLOutputType;
  const listCost = { complexity: ({ childComplexity }: { childComplexity: number }) => 1 + RELATION_LIST_COST * childComplexity };
  const field = <S>(config: GraphQLFieldConfigMap<S, GraphqlContext>) => config as GraphQLFieldConfigMap<unknown, unknown>;
  return {
    ServiceSummary: () =>
      field<{ name: string }>({
        instanceList: {
          type: list('Instance'),
          description: "The service's instances with their checks (services.list by name)",
          extensions: listCost,
          resolve: (service, _args, ctx) => ctx.loaders.serviceInstances.load(service.name),
        },
      }),
    BackupSnapshot: () =>
      field<{ id: string; sourceId: string }>({
        source: {
          type: one('BackupSource'),
          description: 'The source the snapshot was taken of; null once the source is removed',
          resolve: (snapshot, _args, ctx) => ctx.loaders.backupSource.load(snapshot.sourceId),
        },
        verifications: {
          type: list('BackupVerification'),
          description: "The snapshot's verification results, newest first",
          extensions: listCost,
          resolve: (snapshot, _args, ctx) => ctx.loaders.snapshotVerifications.load(snapshot.id),
        },
      }),
    JobInfo: () =>
      field<Job>({
        children: {
          type: list('JobInfo'),
          description: "The job's children, newest first",
          extensions: listCost,
          resolve: (job, _args, ctx) => ctx.loaders.jobChildren.load(job.id),
        },
        batchReport: {
          type: one('BatchReport'),
          description: 'For a batch.apply job: the report of the batch it applies (null before it starts, and for other jobs)',
          resolve: (job, _args, ctx) => {
            const id = batchIdOf(job);
            return id === null ? null : ctx.loaders.batchReport.load(id);
          },
        },
      }),
  };
}
