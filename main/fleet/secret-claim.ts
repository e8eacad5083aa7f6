import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Logger } from '../logger';
import { withRedisDeadline } from '../redis';
import type { Service, ServiceState } from '../service';
import { redisTrouble } from './redis-trouble';

/** One field a node: `<expires at, Redis's clock, ms>|<proof>`; the hash lives as long as its last claim. */
export const SECRET_CLAIM_KEY = 'ph:fleet:secret-proof';
const LABEL = 'pilothouse fleet secret proof v1';

/**
 * KEYS: the claims hash. ARGV: node, proof, ttlMs, mode (`start` or `refresh`). Drops lapsed (or
 * unreadable) claims, then lists the live claims of other nodes whose proof is not ours (node, ms
 * left, ...). At `start` a node that finds any writes nothing; a running node writes its claim all
 * the same, so a conflict shows on every node. Redis's clock, so nodes' clocks do not matter.
 */
const CLAIM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fields = redis.call('HGETALL', KEYS[1])
local others = {}
for i = 1, #fields, 2 do
  local node, value = fields[i], fields[i + 1]
  local bar = string.find(value, '|', 1, true)
  local expires = bar and tonumber(string.sub(value, 1, bar - 1))
  if not expires or expires <= now then
    redis.call('HDEL', KEYS[1], node)
  elseif node ~= ARGV[1] and string.sub(value, bar + 1) ~= ARGV[2] then
    table.insert(others, node)
    table.insert(others, expires - now)
  end
end
if #others > 0 and ARGV[4] == 'start' then return others end
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. '|' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return others
`;

export interface SecretClaimOptions {
  /** How long a claim outlives its node's last refresh (a node killed without a stop). Default 15 s. */
  readonly ttlMs?: number;
  /** How often a running node renews its claim. Default a third of the TTL. */
  readonly refreshMs?: number;
}

/** A live claim of another node made with another fleet secret, and how long it has left. */
export interface ForeignClaim {
  readonly node: string;
  readonly expiresInMs: number;
}

/**
 * Proves, before a node writes anything keyed by the fleet secret, that its secret is the running
 * fleet's. Each running node keeps a claim in Redis: an HMAC of a fixed label under the fleet secret
 * (the same for every node with that secret, and telling nothing of it), renewed with an expiry.
 * A node that starts and finds a live claim with another proof is refused (PH_FLEET_SECRET_MISMATCH):
 * with a wrong secret it would drop every message of the fleet while its workers took the fleet's
 * jobs and failed them, and it would hash audit rows with a key no other node holds. A node that
 * finds none (a new fleet, an emptied Redis, every node stopped) makes the claim. A clean stop takes
 * the node's claim back, so rotating the secret (stop every node, start them with the new one) is
 * not held up; a node killed without a stop holds its claim for up to the TTL.
 */
export class FleetSecretClaim implements Service {
  readonly name = 'fleet-secret';
  readonly #proof: string;
  readonly #ttlMs: number;
  readonly #refreshMs: number;
  #timer: NodeJS.Timeout | null = null;
  #state: ServiceState = 'idle';
  /** Null until a claim reached Redis; then the other nodes' claims that disagree (empty: none). */
  #foreign: ForeignClaim[] | null = null;
  #error: string | null = null;
  #claiming: Promise<void> | null = null;
  readonly #onReady = (): void => void this.refresh();

  constructor(
    private readonly client: Redis,
    secret: string,
    private readonly nodeId: string,
    private readonly logger: Logger,
    options: SecretClaimOptions = {},
  ) {
    this.#proof = createHmac('sha256', Buffer.from(secret, 'utf8')).update(LABEL).digest('base64url');
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#refreshMs = options.refreshMs ?? Math.floor(this.#ttlMs / 3);
  }

  /**
   * Claims the fleet for this secret, or refuses with PH_FLEET_SECRET_MISMATCH naming the nodes
   * that hold it with another. A Redis not reachable yet is checked as soon as it is (a conflict
   * found then makes this node degraded and its workers hand back jobs they cannot open).
   */
  async start(): Promise<void> {
    this.#state = 'starting';
    if (this.client.status === 'ready') {
      let foreign: ForeignClaim[] | null = null;
      try {
        foreign = await this.#claim('start');
      } catch (err) {
        this.#error = redisTrouble(err);
        this.logger.warn({ err: (err as Error).message }, 'fleet secret not checked at start; checking again when redis answers');
      }
      if (foreign !== null && foreign.length > 0) {
        this.#state = 'stopped';
        throw new PhError('PH_FLEET_SECRET_MISMATCH', mismatchMessage(foreign, true), { details: { nodes: foreign.map((c) => c.node) } });
      }
      this.#foreign = foreign;
    }
    this.client.on('ready', this.#onReady);
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.client.off('ready', this.#onReady);
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#claiming;
    // Taken back so that the last node of a fleet stopped for a rotation does not hold up the new secret.
    if (this.#foreign !== null && this.client.status === 'ready')
      await this.client.hdel(SECRET_CLAIM_KEY, this.nodeId).catch(() => undefined);
    this.#state = 'stopped';
  }

  /** True once Redis showed that every live claim is this node's secret's: a seal that fails is then not this node's fault. */
  get confirmed(): boolean {
    return this.#foreign !== null && this.#foreign.length === 0;
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#foreign !== null && this.#foreign.length > 0)
      return { state: 'degraded', detail: `PH_FLEET_SECRET_MISMATCH: ${mismatchMessage(this.#foreign, false)}` };
    if (this.#foreign === null) return { state: 'running', detail: `not checked yet (redis: ${this.#error ?? 'not connected'})` };
    return { state: 'running', detail: "this node's fleet secret is the running fleet's" };
  }

  /** Renews this node's claim now (also on a timer and after every reconnect). */
  refresh(): Promise<void> {
    this.#claiming ??= this.#refresh().finally(() => {
      this.#claiming = null;
    });
    return this.#claiming;
  }

  async #refresh(): Promise<void> {
    let foreign: ForeignClaim[];
    try {
      foreign = await this.#claim('refresh');
      this.#error = null;
    } catch (err) {
      this.#error = redisTrouble(err);
      return;
    }
    const before = this.#foreign;
    this.#foreign = foreign;
    if (foreign.length > 0 && (before === null || before.length === 0))
      this.logger.error(
        { code: 'PH_FLEET_SECRET_MISMATCH', nodes: foreign.map((c) => c.node) },
        `nodes on this redis use different fleet secrets: ${mismatchMessage(foreign, false)}`,
      );
    else if (foreign.length === 0 && before !== null && before.length > 0)
      this.logger.info('every node on this redis uses this fleet secret again');
  }

  async #claim(mode: 'start' | 'refresh'): Promise<ForeignClaim[]> {
    // Bounded: a hung Redis must not hold up a start (the claim is made again when it answers).
    const claimed = this.client.eval(CLAIM_SCRIPT, 1, SECRET_CLAIM_KEY, this.nodeId, this.#proof, String(this.#ttlMs), mode);
    const reply = (await withRedisDeadline(claimed, 'the fleet secret claim')) as (string | number)[];
    const out: ForeignClaim[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push({ node: String(reply[i]), expiresInMs: Number(reply[i + 1]) });
    return out;
  }
}

function mismatchMessage(foreign: readonly ForeignClaim[], starting: boolean): string {
  const nodes = foreign.map((c) => c.node).join(', ');
  const longest = Math.ceil(Math.max(...foreign.map((c) => c.expiresInMs)) / 1000);
  const head = starting
    ? `This node's fleet secret is not the one the nodes running on this Redis use (${nodes})`
    : `node(s) ${nodes} run on this Redis with a fleet secret other than this node's; nodes with different secrets drop each other's messages and cannot open each other's jobs`;
  return `${head}. Give every node the same fleet secret. To rotate it, stop every node first, then start them with the new one: a node stopped cleanly gives up its claim at once, one killed holds it for up to ${longest} s more.`;
}
