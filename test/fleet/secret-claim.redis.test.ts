import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PhError } from '../../contract/errors';
import { FleetSecretClaim, SECRET_CLAIM_KEY } from '../../main/fleet';
import { silent } from '../batch/fixtures';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { startNode, type JobsNode } from './jobs-nodes';

const OTHER_SECRET = 'another-fleet-secret-0123456789abcdef-valid-form';

let redis: TestRedis;
const nodes: JobsNode[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.remove();
  await redis.client().flushall();
});

async function node(options: Parameters<typeof startNode>[1] = {}): Promise<JobsNode> {
  const n = await startNode(redis.url, options);
  nodes.push(n);
  return n;
}

/** Starts a node expected to be refused; returns the error and its data dir's audit rows. */
async function refusedStart(config: { fleetSecret: string }): Promise<{ err: unknown; auditRows: number; head: boolean }> {
  const dir = tempDir('ph-refused-');
  try {
    const err = await startNode(redis.url, { dataDir: dir.path, config }).then(
      async (n) => {
        await n.stop();
        return null;
      },
      (e: unknown) => e,
    );
    const db = new Database(join(dir.path, 'pilothouse.db'), { readonly: true });
    const auditRows = (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
    db.close();
    return { err, auditRows, head: existsSync(join(dir.path, 'audit.head')) };
  } finally {
    dir.remove();
  }
}

describe('a node whose fleet secret is not the running fleet’s', () => {
  it('is refused at start with PH_FLEET_SECRET_MISMATCH naming the running nodes, before it writes an audit row or takes a job', async () => {
    const a = await node();
    const refused = await refusedStart({ fleetSecret: OTHER_SECRET });
    expect(refused.err).toBeInstanceOf(PhError);
    expect((refused.err as PhError).code).toBe('PH_FLEET_SECRET_MISMATCH');
    expect((refused.err as PhError).message).toContain(a.plane.nodeId);
    expect((refused.err as PhError).message).toContain(
      '`DEL ph:fleet:secret-proof` clears it once every node of the old secret is stopped',
    );
    expect(refused.auditRows).toBe(0);
    expect(refused.head).toBe(false);
    expect(await redis.client().hkeys(SECRET_CLAIM_KEY)).toEqual([a.plane.nodeId]);

    // The fleet's own jobs are untouched: one enqueued now runs and completes.
    const batch = { mode: 'atomic', operations: [{ resource: 'record', action: 'create', id: 'r-1', data: { collection: 'c' } }] };
    const job = await a.op('jobs.enqueue', { type: 'batch.apply', payload: batch });
    expect(job.status).toBe(200);
    const id = job.body.job.id as string;
    await until(async () => (await a.op('jobs.get', { id })).body.job.state === 'completed', 10_000, 'the job completed');
    expect(a.plane.status().services.find((s) => s.name === 'fleet-secret')).toMatchObject({ state: 'running' });
  }, 60_000);

  it('lets every node restart with a new secret at once after a clean stop of every node (a rotation), and then refuses the old one', async () => {
    const a = await node();
    const b = await node();
    await a.stop();
    await b.stop();
    expect(await redis.client().exists(SECRET_CLAIM_KEY)).toBe(0);
    nodes.push(await node({ dataDir: a.dataDir, config: { fleetSecret: OTHER_SECRET } }));
    nodes.push(await node({ dataDir: b.dataDir, config: { fleetSecret: OTHER_SECRET } }));
    const old = await refusedStart({ fleetSecret: TEST_FLEET_SECRET });
    expect((old.err as PhError).code).toBe('PH_FLEET_SECRET_MISMATCH');
  }, 60_000);

  it('does not block a node with the fleet’s secret when Redis was emptied; the running node claims again', async () => {
    const a = await node({ fleet: { secretClaim: { ttlMs: 3_000, refreshMs: 200 } } });
    await redis.client().flushall();
    const b = await node();
    expect(b.plane.status().services.find((s) => s.name === 'fleet-secret')).toMatchObject({ state: 'running' });
    await until(async () => (await redis.client().hexists(SECRET_CLAIM_KEY, a.plane.nodeId)) === 1, 5_000, 'node A claimed again');
    expect((await refusedStart({ fleetSecret: OTHER_SECRET })).err).toMatchObject({ code: 'PH_FLEET_SECRET_MISMATCH' });
  }, 60_000);

  it('is refused when a key of another type was planted in place of the claims: the running node replaces it and stays confirmed', async () => {
    const a = await node({ fleet: { secretClaim: { ttlMs: 3_000, refreshMs: 200 } } });
    await redis.client().del(SECRET_CLAIM_KEY);
    await redis.client().set(SECRET_CLAIM_KEY, 'x');
    const claimedAgain = async (): Promise<boolean> =>
      (await redis.client().type(SECRET_CLAIM_KEY)) === 'hash' && (await redis.client().hexists(SECRET_CLAIM_KEY, a.plane.nodeId)) === 1;
    await until(claimedAgain, 5_000, 'node A claimed again');
    expect((await refusedStart({ fleetSecret: OTHER_SECRET })).err).toMatchObject({ code: 'PH_FLEET_SECRET_MISMATCH' });
    expect(a.plane.status().services.find((s) => s.name === 'fleet-secret')).toMatchObject({
      state: 'running',
      detail: "this node's fleet secret is the running fleet's",
    });
  }, 60_000);

  it('starts past a claim planted with a far-future expiry, and drops it', async () => {
    await redis.client().hset(SECRET_CLAIM_KEY, 'node-evil', '99999999999999|AAAA');
    const a = await node();
    expect(a.plane.status().services.find((s) => s.name === 'fleet-secret')).toMatchObject({ state: 'running' });
    expect(await redis.client().hkeys(SECRET_CLAIM_KEY)).toEqual([a.plane.nodeId]);
  }, 60_000);
});

describe('the fleet secret claim', () => {
  async function connected(): Promise<Redis> {
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    return client;
  }

  it('holds the fleet for a node killed without a stop until its claim lapses, then lets another secret claim it', async () => {
    const gone = await connected();
    const killed = new FleetSecretClaim(gone, TEST_FLEET_SECRET, 'node-killed', silent, { ttlMs: 1_000 });
    await killed.start();
    gone.disconnect(); // the node is gone: no stop, no renewal
    const fresh = await connected();
    const next = new FleetSecretClaim(fresh, OTHER_SECRET, 'node-next', silent, { ttlMs: 1_000 });
    try {
      await expect(next.start()).rejects.toMatchObject({
        code: 'PH_FLEET_SECRET_MISMATCH',
        message: expect.stringMatching(/\(node-killed\).*up to 1 s more.*`DEL ph:fleet:secret-proof` clears it/),
      });
      await new Promise((r) => setTimeout(r, 1_100));
      await next.start();
      expect(next.confirmed).toBe(true);
    } finally {
      await next.stop();
      await killed.stop();
      fresh.disconnect();
    }
  });

  it('shows a conflict found while running on every node that holds a claim, and their workers stop trusting a failed seal', async () => {
    const c1 = await connected();
    const c2 = await connected();
    const first = new FleetSecretClaim(c1, TEST_FLEET_SECRET, 'node-1', silent, { ttlMs: 5_000 });
    // Started while Redis was away: it claims as soon as it can, and finds the conflict then.
    const late = new FleetSecretClaim(c2, OTHER_SECRET, 'node-2', silent, { ttlMs: 5_000 });
    try {
      await first.start();
      await late.refresh();
      await first.refresh();
      expect(first.confirmed).toBe(false);
      expect(late.confirmed).toBe(false);
      expect(first.status()).toMatchObject({
        state: 'degraded',
        detail: expect.stringMatching(/^PH_FLEET_SECRET_MISMATCH: node\(s\) node-2 .*`DEL ph:fleet:secret-proof` clears it/),
      });
    } finally {
      await first.stop();
      c1.disconnect();
      c2.disconnect();
    }
  });

  it('is unconfirmed and degraded, saying why, while Redis refuses its renewal, and refuses a start then', async () => {
    const admin = redis.client();
    await admin.acl('SETUSER', 'claimer', 'on', '>claimer-pw', '~*', '&*', '+@all');
    const client = new Redis(redis.url, { lazyConnect: true, username: 'claimer', password: 'claimer-pw' });
    await client.connect();
    const claim = new FleetSecretClaim(client, TEST_FLEET_SECRET, 'node-1', silent);
    try {
      await claim.start();
      expect(claim.confirmed).toBe(true);
      await admin.acl('SETUSER', 'claimer', '-eval');
      await claim.refresh();
      expect(claim.confirmed).toBe(false);
      expect(claim.status()).toMatchObject({
        state: 'degraded',
        detail: expect.stringContaining("this node's fleet secret claim could not be renewed (redis: a command failed)"),
      });
      const starting = new FleetSecretClaim(client, TEST_FLEET_SECRET, 'node-2', silent);
      await expect(starting.start()).rejects.toMatchObject({ code: 'PH_UNAVAILABLE', message: expect.stringContaining('NOPERM') });
      await admin.acl('SETUSER', 'claimer', '+eval');
      await claim.refresh();
      expect(claim.confirmed).toBe(true);
      expect(claim.status()).toMatchObject({ state: 'running' });
    } finally {
      await claim.stop();
      client.disconnect();
      await admin.acl('DELUSER', 'claimer');
    }
  });
});
