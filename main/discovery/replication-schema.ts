import { Type, type Static } from '@sinclair/typebox';
import { CheckDefinitionSchema, CheckStatusSchema, MetaSchema, RegisterInputSchema } from '../../contract/ops/discovery';

const Ms = Type.Integer({ minimum: 0 });
const MaybeMs = Type.Union([Ms, Type.Null()]);
const input = RegisterInputSchema.properties;

/**
 * What another node may tell this one about an instance, checked before anything is applied: the
 * same limits as a registration through the API (name, address, port, weight, checks), so a
 * message from Redis cannot carry what an operator could not register.
 */
export const InstanceSnapshotSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' }),
    name: input.name,
    address: input.address,
    port: input.port,
    tags: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 }),
    meta: MetaSchema,
    version: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]),
    weight: Type.Integer({ minimum: 1, maximum: 1000 }),
    defs: Type.Array(CheckDefinitionSchema, { maxItems: 8 }),
    maintenance: Type.Union([Type.Object({ reason: Type.String({ maxLength: 1000 }), since: Ms }), Type.Null()]),
    registeredAt: Ms,
    updatedAt: Ms,
    lastHeartbeatAt: MaybeMs,
    checks: Type.Array(
      Type.Object({
        id: Type.String({ minLength: 1, maxLength: 64 }),
        status: CheckStatusSchema,
        output: Type.String({ maxLength: 8192 }),
        checkedAt: MaybeMs,
        changedAt: Ms,
        criticalSince: MaybeMs,
      }),
      { maxItems: 8 },
    ),
  },
  { additionalProperties: false },
);

export const ReplicationSchema = Type.Union([
  Type.Object({ kind: Type.Literal('upsert'), snapshot: InstanceSnapshotSchema }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('remove'), id: InstanceSnapshotSchema.properties.id, reason: Type.String({ maxLength: 1000 }) },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('heartbeat'), id: InstanceSnapshotSchema.properties.id, at: Ms }, { additionalProperties: false }),
]);

export type InstanceSnapshotMessage = Static<typeof InstanceSnapshotSchema>;
