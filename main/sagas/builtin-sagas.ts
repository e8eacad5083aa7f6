import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PhError } from '../../contract/errors';
import type { OperationInput, OperationName, OperationResult } from '../../contract/operations';
import type { RetryPolicy, SagaStepContext, SagaType } from './saga-types';

/**
 * An operation called by a saga type as Pilothouse itself; `by` names the saga a step acts for, which
 * the audit trail then shows as the actor (`saga:<id>`; `sagas.start`'s own row names the key).
 */
export type CallOperation = <N extends OperationName>(
  name: N,
  input: OperationInput<N>,
  by?: { sagaId: string },
) => Promise<OperationResult<N>>;

/** Refuses an input off the schema with `PH_INVALID_INPUT`, naming the first wrong field. */
function validator(schema: TSchema): (input: unknown) => void {
  return (input) => {
    const first = Value.Errors(schema, input).First();
    if (first !== undefined)
      throw new PhError('PH_INVALID_INPUT', `Field "input${first.path.replaceAll('/', '.')}": ${first.message}`, { field: 'input' });
  };
}

const ShiftTrafficInput = Type.Object(
  {
    service: Type.String({ minLength: 1, maxLength: 200 }),
    newInstanceIds: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
type ShiftTraffic = { service: string; newInstanceIds: string[] };

/**
 * `services.shift-traffic`: moves a service's traffic to its new instances. The old ones are put in
 * maintenance (never picked), then the new ones must pass their checks within the step's tries; if
 * they do not, the compensation takes the old ones out of maintenance again: the rollback.
 * Maintenance on and off are idempotent, so a step re-run after a crash does no harm.
 */
export function shiftTrafficSaga(
  call: CallOperation,
  options: { readonly type?: string; readonly checkRetry?: RetryPolicy } = {},
): SagaType<ShiftTraffic> {
  const instances = async (service: string, by?: { sagaId: string }) => (await call('services.list', { name: service }, by)).instances;
  return {
    type: options.type ?? 'services.shift-traffic',
    description: "Drain a service's old instances, then require the new ones to pass their checks; put the old ones back if they do not",
    validateInput: validator(ShiftTrafficInput),
    // Every new instance must be one of the service's now: a typo would drain the old ones for nothing.
    checkInput: async (input) => {
      const known = new Set((await instances(input.service)).map((i) => i.id));
      const unknown = input.newInstanceIds.filter((id) => !known.has(id));
      if (unknown.length > 0)
        throw new PhError('PH_INVALID_INPUT', `${input.service} has no instance ${unknown.join(', ')}`, { field: 'input.newInstanceIds' });
    },
    steps: [
      {
        name: 'drain-old',
        action: async (ctx: SagaStepContext<ShiftTraffic>) => {
          const fresh = new Set(ctx.input.newInstanceIds);
          const old = (await instances(ctx.input.service, ctx)).filter((i) => !fresh.has(i.id) && i.maintenance === null);
          for (const instance of old)
            await call(
              'services.maintenance',
              { id: instance.id, enabled: true, reason: `saga ${ctx.sagaId}: traffic moved to new instances` },
              ctx,
            );
          return { drained: old.map((i) => i.id) };
        },
        compensate: async (ctx, result) => {
          for (const id of (result as { drained: string[] }).drained) {
            try {
              await call('services.maintenance', { id, enabled: false }, ctx);
            } catch (err) {
              // Deregistered meanwhile: nothing left to put back.
              if (!(err instanceof PhError && err.code === 'PH_DISCOVERY_NOT_FOUND')) throw err;
            }
          }
        },
      },
      {
        name: 'check-new',
        // New instances get about half a minute to pass their checks.
        retry: options.checkRetry ?? { attempts: 5, backoffMs: 2_000, maxBackoffMs: 10_000 },
        action: async (ctx: SagaStepContext<ShiftTraffic>) => {
          const byId = new Map((await instances(ctx.input.service, ctx)).map((i) => [i.id, i]));
          for (const id of ctx.input.newInstanceIds) {
            const state = byId.get(id)?.state ?? 'not registered';
            if (state !== 'passing') throw new Error(`new instance ${id} is ${state}`);
          }
          return { passing: ctx.input.newInstanceIds };
        },
      },
    ],
  };
}

const RestoreWarmInput = Type.Object(
  {
    snapshotId: Type.String({ minLength: 1, maxLength: 200 }),
    namespace: Type.String({ minLength: 1, maxLength: 64 }),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
type RestoreWarm = { snapshotId: string; namespace: string; force?: boolean };

/**
 * `backup.restore-and-warm`: puts a database back to a snapshot, then re-warms the cache namespace
 * that holds values read from it. If the warm-up fails (a key its loader cannot load from the
 * restored data), the database is restored again to the safety snapshot taken first, and the
 * namespace cleared, so neither the database nor the cache stays half-changed.
 * Each step is idempotent by its effect: a snapshot of an unchanged database, a restore of the same
 * snapshot, a clear and a warm-up give the same result when a crash makes them run twice.
 */
export function restoreAndWarmSaga(call: CallOperation, options: { readonly type?: string } = {}): SagaType<RestoreWarm> {
  // Warm-up lists are registered in code, per node: without one the last step could never pass.
  const assertWarmable = async (namespace: string): Promise<void> => {
    if (!(await call('cache.stats', {})).warmups.includes(namespace))
      throw new PhError(
        'PH_INVALID_INPUT',
        `Namespace ${namespace} has no warm-up list on this node, so it could not be re-warmed after the restore; restore with backup.restore instead`,
        { field: 'input.namespace' },
      );
  };
  return {
    type: options.type ?? 'backup.restore-and-warm',
    description: 'Restore a database in place from a snapshot, then re-warm its cache namespace; restore it back if the warm-up fails',
    // It restores in place, which backup.restore allows admins only.
    startRole: 'admin',
    validateInput: validator(RestoreWarmInput),
    // The snapshot is in one node's backup repository: the saga runs there (the newest 1000 snapshots of the fleet are searched).
    node: async (input) =>
      (await call('backup.snapshots.list', { limit: 1000 })).snapshots.find((s) => s.id === input.snapshotId)?.node ?? null,
    // A restore this node cannot do, or a namespace it cannot warm, is refused before anything is restored.
    // Another node's snapshot is checked by the first step, on that node.
    checkInput: async (input) => {
      try {
        await call('backup.restore.plan', { snapshotId: input.snapshotId, inPlace: true });
      } catch (err) {
        if (err instanceof PhError && (err.details as { node?: string } | undefined)?.node !== undefined) return;
        throw err;
      }
      await assertWarmable(input.namespace);
    },
    steps: [
      {
        name: 'safety-snapshot',
        // Taken as a step of its own (not the restore's own safety copy), so a restore re-run after a crash cannot replace it with a copy of the restored file.
        action: async (ctx: SagaStepContext<RestoreWarm>) => {
          await assertWarmable(ctx.input.namespace);
          const plan = await call('backup.restore.plan', { snapshotId: ctx.input.snapshotId, inPlace: true }, ctx);
          const { snapshot } = await call('backup.snapshot', { id: plan.snapshot.sourceId }, ctx);
          return { sourceId: plan.snapshot.sourceId, safetySnapshotId: snapshot.id };
        },
      },
      {
        name: 'restore',
        action: async (ctx: SagaStepContext<RestoreWarm>) => {
          const { restore } = await call(
            'backup.restore',
            { snapshotId: ctx.input.snapshotId, inPlace: true, ...(ctx.input.force === undefined ? {} : { force: ctx.input.force }) },
            ctx,
          );
          return { restoreId: restore.id, target: restore.target };
        },
        compensate: async (ctx: SagaStepContext<RestoreWarm>) => {
          const { safetySnapshotId } = ctx.results['safety-snapshot'] as { safetySnapshotId: string };
          await call(
            'backup.restore',
            { snapshotId: safetySnapshotId, inPlace: true, ...(ctx.input.force === undefined ? {} : { force: ctx.input.force }) },
            ctx,
          );
          // Values warmed from the restored data must not outlive it.
          await call('cache.clear', { namespace: ctx.input.namespace }, ctx);
        },
      },
      {
        name: 'rewarm',
        action: async (ctx: SagaStepContext<RestoreWarm>) => {
          const { removed } = await call('cache.clear', { namespace: ctx.input.namespace }, ctx);
          const { results } = await call('cache.warm', { namespace: ctx.input.namespace }, ctx);
          const failed = results.reduce((n, r) => n + r.failed, 0);
          if (failed > 0)
            throw new Error(`${failed} of ${results.reduce((n, r) => n + r.total, 0)} keys of ${ctx.input.namespace} did not load`);
          return { cleared: removed, loaded: results.reduce((n, r) => n + r.loaded, 0) };
        },
      },
    ],
  };
}
