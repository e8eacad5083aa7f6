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

/** The longest a genuine claim runs ahead of Redis's clock; one further ahead was planted. */
const MAX_TTL_MS = 15_000;
/** Slack for Redis's clock stepping back between a claim and the next look at it. */
const AHEAD_MARGIN_MS = 5_000;

/**
 * KEYS: the claims hash. ARGV: node, proof, ttlMs, mode (`start` or `refresh`), the most a claim may
 * run ahead of now. A key of another type was planted (no node writes one): it goes, as a Redis writer
 * could have deleted it. Drops lapsed, unreadable and planted far-future claims, then lists the live
 * claims of other nodes whose proof is not ours (node, ms left, ...). At `start` a node that finds any
 * writes no claim; a running node writes its claim all the same, so a conflict shows on every node.
 * Redis's clock, so nodes' clocks do not matter.
 */
const CLAIM_SCRIPT = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local latest = now + tonumber(ARGV[5])
local fields = redis.call('HGETALL', KEYS[1])
local others = {}
for i = 1, #fields, 2 do
  local node, value = fields[i], fields[i + 1]
  local bar = string.find(value, '|', 1, true)
  local expires = bar and tonumber(string.sub(value, 1, bar - 1))
  if not expires or expires <= now or expires > latest then
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
  /** How long a claim outlives its node's last refresh (a node killed without a stop). Default and most 15 s. */
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
  /** Null until a claim reached Redis; then the other nodes' claims that disagree (empty: none) at the last claim that did. */
  #foreign: ForeignClaim[] | null = null;
  /** Why the last claim failed (null: it reached Redis), and whether that was Redis not answering. */
  #error: string | null = null;
  #unanswered = false;
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
    this.#ttlMs = Math.min(options.ttlMs ?? MAX_TTL_MS, MAX_TTL_MS);
    this.#refreshMs = options.refreshMs ?? Math.floor(this.#ttlMs / 3);
  }

  /**
   * Claims the fleet for this secret, or refuses with PH_FLEET_SECRET_MISMATCH naming the nodes
   * that hold it with another. A Redis not reachable yet is checked as soon as it is (a conflict
   * found then makes this node degraded and its workers hand back jobs they cannot open). A Redis
   * that answers the claim with an error refuses the start (PH_UNAVAILABLE): the secret was not checked.
   */
  async start(): Promise<void> {
    this.#state = 'starting';
    if (this.client.status === 'ready') {
      let foreign: ForeignClaim[] | null = null;
      try {
        foreign = await this.#claim('start');
      } catch (err) {
        this.#failed(err);
        if (!this.#unanswered) {
          this.#state = 'stopped';
          const reply = (err as Error).message;
          throw new PhError('PH_UNAVAILABLE', `The fleet secret could not be checked: Redis answered its claim with an error (${reply})`, {
            cause: err,
          });
        }
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

  /**
   * True while Redis shows, at the last renewal, that every live claim is this node's secret's: a seal
   * that fails is then not this node's fault. A renewal that failed leaves it false: the claim may be gone.
   */
  get confirmed(): boolean {
    return this.#error === null && this.#foreign !== null && this.#foreign.length === 0;
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#foreign !== null && this.#foreign.length > 0)
      return { state: 'degraded', detail: `PH_FLEET_SECRET_MISMATCH: ${mismatchMessage(this.#foreign, false)}` };
    if (this.#foreign === null && (this.#error === null || this.#unanswered))
      return { state: 'running', detail: `not checked yet (redis: ${this.#error ?? 'not connected'})` };
    if (this.#error !== null) return { state: 'degraded', detail: this.#notRenewed() };
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
    const failing = this.#error !== null;
    try {
      foreign = await this.#claim('refresh');
      this.#error = null;
      this.#unanswered = false;
    } catch (err) {
      this.#failed(err);
      if (!failing && this.#foreign !== null) this.logger.warn({ err: (err as Error).message }, this.#notRenewed());
      return;
    }
    if (failing && this.#foreign !== null) this.logger.info("this node's fleet secret claim is renewed again");
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

  #failed(err: unknown): void {
    this.#error = redisTrouble(err);
    this.#unanswered = err instanceof PhError && err.code === 'PH_REDIS_UNAVAILABLE';
  }

  #notRenewed(): string {
    return `this node's fleet secret claim could not be renewed (redis: ${this.#error ?? 'not connected'}), so it is not confirmed: a seal that fails here is not taken as forged; trying again every ${Math.ceil(this.#refreshMs / 1000)} s`;
  }

  async #claim(mode: 'start' | 'refresh'): Promise<ForeignClaim[]> {
    // Bounded: a hung Redis must not hold up a start (the claim is made again when it answers).
    const claimed = this.client.eval(
      CLAIM_SCRIPT,
      1,
      SECRET_CLAIM_KEY,
      this.nodeId,
      this.#proof,
      String(this.#ttlMs),
      mode,
      String(MAX_TTL_MS + AHEAD_MARGIN_MS),
    );
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
  return `${head}. Give every node the same fleet secret. To rotate it, stop every node first, then start them with the new one: a node stopped cleanly gives up its claim at once, one killed holds it for up to ${longest} s more. If no node with that secret runs (a claim planted by a writer of Redis), \`DEL ${SECRET_CLAIM_KEY}\` clears it once every node of the old secret is stopped.`;
}
