import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { WebhookEventTypeSchema } from '../../contract/ops/webhooks';
import type { ReplicaSource } from '../fleet';
import type { Logger } from '../logger';
import type { EndpointRecord, EndpointStore } from './endpoint-store';
import type { SecretBox } from './secret-box';
import type { StoredSecret, WebhookSecretStore } from './secret-store';

/** One endpoint as the fleet-wide table `webhook-endpoints` carries it: its fields and its secrets, encrypted. */
export const EndpointReplicaSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    description: Type.String({ maxLength: 500 }),
    eventTypes: Type.Array(WebhookEventTypeSchema, { maxItems: 20 }),
    filter: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    enabled: Type.Boolean(),
    disabledReason: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.Integer(),
    createdBy: Type.String({ maxLength: 200 }),
    updatedAt: Type.Integer(),
    /** `SecretBox` text of the endpoint's secrets; null on a node without a fleet secret (nothing is shared then). */
    secrets: Type.Union([Type.String({ maxLength: 4096 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type EndpointReplica = Static<typeof EndpointReplicaSchema>;

const StoredSecretsSchema = Type.Array(
  Type.Object(
    { secret: Type.String({ minLength: 1 }), expiresAt: Type.Union([Type.Integer(), Type.Null()]) },
    { additionalProperties: false },
  ),
  { maxItems: 10 },
);

/**
 * The endpoints and their secrets as a replicated table sees them (`ReplicaSource` in main/fleet):
 * every node holds every endpoint, so any node can run any delivery. A secret is written to this
 * node's 0600 secret files as it arrives, and crosses Redis only inside a `SecretBox`.
 */
export class EndpointReplicas implements ReplicaSource<EndpointReplica> {
  readonly #listeners = new Set<(id: string, value: EndpointReplica | null) => void>();

  constructor(
    private readonly endpoints: EndpointStore,
    private readonly secrets: WebhookSecretStore,
    private readonly box: SecretBox | null,
    private readonly logger: Logger,
  ) {}

  rows(): Iterable<readonly [string, EndpointReplica]> {
    return this.endpoints.list().map((e) => [e.id, this.#replica(e)] as const);
  }

  apply(id: string, value: EndpointReplica | null): void {
    if (value === null) {
      this.endpoints.remove(id);
      this.secrets.remove(id);
      return;
    }
    const { secrets, ...fields } = value;
    this.endpoints.put({ id, ...fields });
    if (secrets === null || this.box === null) return;
    const parsed = this.#openSecrets(id, secrets);
    if (parsed === null) {
      this.logger.warn(
        { endpoint: id },
        'webhook secrets from the fleet do not open with this node’s fleet secret; kept the ones held here',
      );
      return;
    }
    this.secrets.write(id, parsed);
  }

  onLocalChange(listener: (id: string, value: EndpointReplica | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called by the service after every edit of an endpoint or its secrets here (null: removed). */
  changed(id: string): void {
    const record = this.endpoints.find(id);
    const value = record === null ? null : this.#replica(record);
    for (const listener of this.#listeners) listener(id, value);
  }

  #openSecrets(id: string, sealed: string): StoredSecret[] | null {
    const opened = this.box?.open(id, sealed) ?? null;
    if (opened === null) return null;
    try {
      const parsed: unknown = JSON.parse(opened);
      return Value.Check(StoredSecretsSchema, parsed) ? parsed : null;
    } catch {
      return null;
    }
  }

  #replica(e: EndpointRecord): EndpointReplica {
    const held = this.secrets.read(e.id);
    return {
      url: e.url,
      description: e.description,
      eventTypes: [...e.eventTypes],
      filter: e.filter,
      enabled: e.enabled,
      disabledReason: e.disabledReason,
      createdAt: e.createdAt,
      createdBy: e.createdBy,
      updatedAt: e.updatedAt,
      secrets: this.box === null || held.length === 0 ? null : this.box.seal(e.id, JSON.stringify(held)),
    };
  }
}
