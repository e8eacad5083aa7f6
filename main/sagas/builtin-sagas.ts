import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PhError } from '../../contract/errors';
import type { OperationInput, OperationName, OperationResult } from '../../contract/operations';
import type { RetryPolicy, SagaStepContext, SagaType } from './saga-types';

/** Calls an operation through the dispatcher, as Pilothouse itself: roles, validation and the audit trail as any caller's. */
export type CallOperation = <N extends OperationName>(name: N, input: OperationInput<N>) => Promise<OperationResult<N>>;

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
  const instances = async (service: string) => (await call('services.list', { name: service })).instances;
  return {
    type: options.type ?? 'services.shift-traffic',
    description: "Drain a service's old instances, then require the new ones to pass their checks; put the old ones back if they do not",
    validateInput: (input) => {
      const first = Value.Errors(ShiftTrafficInput, input).First();
      if (first !== undefined)
        throw new PhError('PH_INVALID_INPUT', `Field "input${first.path.replaceAll('/', '.')}": ${first.message}`, { field: 'input' });
    },
    steps: [
      {
        name: 'drain-old',
        action: async (ctx: SagaStepContext<ShiftTraffic>) => {
          const fresh = new Set(ctx.input.newInstanceIds);
          const old = (await instances(ctx.input.service)).filter((i) => !fresh.has(i.id) && i.maintenance === null);
          for (const instance of old)
            await call('services.maintenance', {
              id: instance.id,
              enabled: true,
              reason: `saga ${ctx.sagaId}: traffic moved to new instances`,
            });
          return { drained: old.map((i) => i.id) };
        },
        compensate: async (_ctx, result) => {
          for (const id of (result as { drained: string[] }).drained) {
            try {
              await call('services.maintenance', { id, enabled: false });
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
          const byId = new Map((await instances(ctx.input.service)).map((i) => [i.id, i]));
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
