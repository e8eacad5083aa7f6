/**
 * `npm run bench -- client`
 * - client.cache-hit: gets/s of one key through the typed client with its local L1 warm (kept
 *   coherent by the hub's events) vs plain HTTP GETs of the same key (`GET /api/v2/cache/:ns/:key`,
 *   keep-alive, 8 in flight), against a control plane in a child process, alternating rounds.
 *   Goal ratio ≥ 50.
 * - oauth.verify: bearer credentials authenticated per second by the server's authenticator: an
 *   OAuth access token (EdDSA JWT; its signature checked once, then remembered until it expires) vs
 *   an API key (SHA-256 of its secret against the stored hash), same process, same SQLite file,
 *   alternating rounds. Goal ratio ≥ 1. The line also carries `first_verify_per_s`, the rate of
 *   tokens seen for the first time (a signature check each).
 * PH_BENCH_SCALE shrinks a run (operations per round; rounds stay at least three) for a smoke check.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Pilothouse, type WebSocketFactory } from '../../client/src';
import { createLogger } from '../../main/logger';
import { Metrics } from '../../main/monitoring';
import { ApiKeyStore, AuthThrottle, Authenticator, OAuthServer, SecretStore, SessionTokens, securityMigrations } from '../../main/security';
import { openStore } from '../../main/store';
import { startPlaneProcess, type PlaneProcess } from '../plane-process';
import { compareRates, progress, report, scaled } from '../lib';

const ROUNDS = 5;
const L1_GETS = scaled(200_000);
const HTTP_GETS = scaled(4_000);
const HTTP_IN_FLIGHT = 8;
const VERIFICATIONS = scaled(100_000);
const FIRST_VERIFICATIONS = scaled(2_000);

const startPlane = (): Promise<PlaneProcess> => startPlaneProcess(join(import.meta.dirname, 'plane-child.ts'));

const rate = (count: number, started: number) => count / ((performance.now() - started) / 1000);

async function cacheHit(): Promise<void> {
  const plane = await startPlane();
  const client = new Pilothouse({ url: plane.url, apiKey: plane.adminKey, WebSocket: WebSocket as unknown as WebSocketFactory });
  try {
    const value = { id: 42, name: 'a cached record', tags: ['a', 'b', 'c'], score: 0.75 };
    await client.cache.set('bench', 'record', value);
    await client.cache.get('bench', 'record'); // follows the invalidations, then holds the value
    await client.cache.get('bench', 'record');
    if (client.cache.l1Size !== 1) throw new Error('the client L1 does not hold the key');
    const url = `${plane.url}/api/v2/cache/bench/record`;
    const headers = { authorization: `Bearer ${plane.adminKey}` };
    const check = (await (await fetch(url, { headers })).json()) as { value?: unknown };
    if (JSON.stringify(check.value) !== JSON.stringify(value)) throw new Error('the HTTP GET does not answer the value');

    const l1 = async () => {
      const started = performance.now();
      for (let i = 0; i < L1_GETS; i += 1) await client.cache.get('bench', 'record');
      const r = rate(L1_GETS, started);
      progress(`client.cache-hit L1: ${Math.round(r)} gets/s`);
      return r;
    };
    const http = async () => {
      let next = 0;
      const started = performance.now();
      const worker = async () => {
        while (next < HTTP_GETS) {
          next += 1;
          const res = await fetch(url, { headers });
          if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
          await res.json();
        }
      };
      await Promise.all(Array.from({ length: HTTP_IN_FLIGHT }, worker));
      const r = rate(HTTP_GETS, started);
      progress(`client.cache-hit HTTP: ${Math.round(r)} gets/s`);
      return r;
    };
    const result = await compareRates(ROUNDS, l1, http);
    report({
      bench: 'client.cache-hit',
      ours: Math.round(result.ours),
      baseline: Math.round(result.baseline),
      unit: 'gets/s',
      goal: '>= 50',
      better: 'higher',
      order: result.order,
      rounds: result.rounds,
      l1_gets_per_round: L1_GETS,
      http_gets_per_round: HTTP_GETS,
      http_in_flight: HTTP_IN_FLIGHT,
    });
  } finally {
    await client.close();
    plane.proc.kill('SIGTERM');
  }
}

async function oauthVerify(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ph-bench-oauth-'));
  const db = openStore({ path: join(dir, 'pilothouse.db'), migrations: securityMigrations });
  try {
    const clock = { now: () => Date.now() };
    const logger = createLogger('silent');
    const keys = new ApiKeyStore(db, clock);
    const throttle = new AuthThrottle({ clock, logger, registry: new Metrics().registry, audit: () => undefined });
    const oauth = new OAuthServer({ db, keys, throttle, clock, root: randomBytes(32) });
    const authenticator = new Authenticator(keys, new SessionTokens(db, keys, clock, new SecretStore(dir)), throttle, oauth);
    const { key, secret } = keys.create({ name: 'bench', role: 'operator' }, 'bench');
    const grant = oauth.grants.create(key.id, { role: 'operator', scopes: [] }).grant;
    const { token } = await oauth.accessTokens.mint(key.id, grant.id, { role: 'operator', scopes: [] });
    const from = { address: '127.0.0.1', transport: 'http' as const };
    if ((await authenticator.authenticate(token, from)) === null || (await authenticator.authenticate(secret, from)) === null)
      throw new Error('the bench credentials do not authenticate');

    const loop = (credential: string, name: string) => async () => {
      const started = performance.now();
      for (let i = 0; i < VERIFICATIONS; i += 1) await authenticator.authenticate(credential, from);
      const r = rate(VERIFICATIONS, started);
      progress(`oauth.verify ${name}: ${Math.round(r)} /s`);
      return r;
    };
    const result = await compareRates(ROUNDS, loop(token, 'access token'), loop(secret, 'api key'));
    const fresh = await Promise.all(
      Array.from(
        { length: FIRST_VERIFICATIONS },
        async () => (await oauth.accessTokens.mint(key.id, grant.id, { role: 'operator', scopes: [] })).token,
      ),
    );
    const started = performance.now();
    for (const t of fresh) await authenticator.authenticate(t, from);
    const firstRate = rate(FIRST_VERIFICATIONS, started);
    report({
      bench: 'oauth.verify',
      ours: Math.round(result.ours),
      baseline: Math.round(result.baseline),
      unit: 'verifications/s',
      goal: '>= 1',
      better: 'higher',
      order: result.order,
      rounds: result.rounds,
      verifications_per_round: VERIFICATIONS,
      first_verify_per_s: Math.round(firstRate),
    });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await oauthVerify();
  await cacheHit();
}

void main();
