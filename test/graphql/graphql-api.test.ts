import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultRoomRules } from '../../main/realtime';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

interface GraphqlReply {
  status: number;
  body: { data?: any; errors?: { message: string; extensions: { code: string; details?: any; field?: string } }[] };
}

describe('GraphQL over HTTP and graphql-ws, on a running control plane', () => {
  let t: TestPlane;
  let viewerKey: string;
  let operatorKey: string;
  let operatorKeyId: string;
  const clients: Client[] = [];

  const gql = async (query: string, key: string | null = t.adminKey, variables?: Record<string, unknown>): Promise<GraphqlReply> => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as GraphqlReply['body'] };
  };

  const wsClient = (key: string, closed?: (event: { code: number; reason: string }) => void): Client => {
    const client = createClient({
      url: `${t.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
      lazy: false,
      // The refusals are what these tests assert; the client would also print them.
      onNonLazyError: () => undefined,
      on: { closed: (event) => closed?.(event as { code: number; reason: string }) },
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const rooms = [
      ...defaultRoomRules,
      { prefix: 'ops:', subscribeRole: 'operator', publishRole: 'operator', lane: 'normal', history: true } as const,
    ];
    t = await startTestPlane({ graphql: { maxDepth: 8, maxCost: 5000 }, realtime: { maxConnectionsPerKey: 4 } }, { realtime: { rooms } });
    t.plane.running.batch.queue.register('test.steps', async (_payload, ctx) => {
      for (const step of [1, 2, 3]) {
        ctx.progress(step / 4, `step ${step}`);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      return { ok: true };
    });
    viewerKey = (await t.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret;
    const operator = (await t.op('keys.create', { name: 'operator', role: 'operator' })).body;
    operatorKey = operator.secret;
    operatorKeyId = operator.key.id;
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await t?.stop();
  });

  it('answers one query across three capabilities (system, jobs, cache) with the REST results', async () => {
    const reply = await gql(
      `{ system { status { version mode } } jobs { list(limit: 5) { total jobs { id state } } } cache { stats { nodeId totals { hitRatio } } } }`,
      viewerKey,
    );
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    const rest = await t.op('system.status', {}, viewerKey);
    expect(reply.body.data.system.status).toEqual({ version: rest.body.version, mode: rest.body.mode.toUpperCase() });
    expect(reply.body.data.jobs.list.total).toBe((await t.op('jobs.list', { limit: 5 })).body.total);
    expect(reply.body.data.cache.stats.nodeId).toBe((await t.op('cache.stats', {}, viewerKey)).body.nodeId);
  });

  it('answers a query it has compiled (from its second run) exactly as the first time: enums, renamed fields, wide integers, errors', async () => {
    await t.op('jobs.enqueue', { type: 'test.steps', delayMs: 86_400_000 });
    const query = `{ jobs { stats { queues { type counts { waiting delayed waiting_children } } } list(limit: 3) { jobs { state childPolicy priority payload } } get(id: "nope") { job { id } } } }`;
    const first = await gql(query, viewerKey);
    expect(first.body.data.jobs.list.jobs[0]).toMatchObject({ state: 'DELAYED', childPolicy: 'FAIL_PARENT' });
    expect(first.body.data.jobs.stats.queues.find((q: any) => q.type === 'test.steps').counts).toMatchObject({
      delayed: 1,
      waiting_children: 0,
    });
    for (let run = 0; run < 3; run += 1) expect(await gql(query, viewerKey)).toEqual(first);
  });

  it('audits a mutation as the key that made it, as REST does', async () => {
    const reply = await gql(
      `mutation { services { register(name: "gql-audit", id: "gql-audit-1", address: "127.0.0.1", port: 9, checks: [{ kind: TTL, ttlMs: 60000 }]) { instance { id state } } } }`,
      operatorKey,
    );
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data.services.register.instance.id).toBe('gql-audit-1');
    const audit = await t.op('audit.list', { limit: 20 });
    const row = audit.body.entries.find((e: any) => e.action === 'services.register' && e.target === 'gql-audit-1');
    expect(row).toMatchObject({ outcome: 'ok', actor: `key:${operatorKeyId}` });
  });

  it('refuses a viewer a mutation with PH_FORBIDDEN from the dispatcher, and gives no stack', async () => {
    const reply = await gql(`mutation { jobs { enqueue(type: "test.steps") { job { id } } } }`, viewerKey);
    expect(reply.body.errors?.[0]?.extensions.code).toBe('PH_FORBIDDEN');
    expect(JSON.stringify(reply.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('carries the dispatcher’s PH_INVALID_INPUT with its field', async () => {
    const reply = await gql(`mutation { keys { create(name: "   ", role: VIEWER) { secret } } }`);
    expect(reply.body.errors?.[0]?.extensions).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'name' });
  });

  it('answers 401 PH_UNAUTHENTICATED without a key, in the GraphQL error shape', async () => {
    const reply = await gql(`{ system { status { version } } }`, null);
    expect(reply.status).toBe(401);
    expect(reply.body.errors?.[0]?.extensions.code).toBe('PH_UNAUTHENTICATED');
  });

  it('refuses a query deeper than graphql.maxDepth with 400 PH_GRAPHQL_TOO_DEEP', async () => {
    const deep = `{ jobs { get(id: "x") { job { children { children { children { children { children { id } } } } } } } } }`;
    const reply = await gql(deep);
    expect(reply.status).toBe(400);
    expect(reply.body.errors?.[0]?.extensions).toMatchObject({ code: 'PH_GRAPHQL_TOO_DEEP', details: { maxDepth: 8 } });
  });

  it('refuses a query over graphql.maxCost with 400 PH_GRAPHQL_TOO_COSTLY, saying its cost', async () => {
    const reply = await gql(`{ jobs { list(limit: 500) { jobs { id type state children { id state } } } } }`);
    expect(reply.status).toBe(400);
    const error = reply.body.errors?.[0];
    expect(error?.extensions.code).toBe('PH_GRAPHQL_TOO_COSTLY');
    expect(error?.extensions.details.cost).toBeGreaterThan(5000);
    expect(error?.message).toContain(String(error?.extensions.details.cost));
  });

  it('streams job progress to a graphql-ws subscription while the job runs, then closes it when its key is revoked', async () => {
    const key = (await t.op('keys.create', { name: 'subscriber', role: 'viewer' })).body;
    let closedAt = 0;
    let closeCode = 0;
    const client = wsClient(key.secret, (event) => {
      closedAt = performance.now();
      closeCode = event.code;
    });
    const progress: { progress: number; message: string | null }[] = [];
    const ended = new Promise<void>((resolve) => {
      client.subscribe(
        { query: `subscription { jobsProgress(type: "test.steps") { id progress message } }` },
        { next: (value) => void progress.push((value.data as any).jobsProgress), error: () => resolve(), complete: () => resolve() },
      );
    });
    // A query answered on the same socket: the server has taken the subscribe message sent before it.
    const echoed = await new Promise<any>((resolve, reject) =>
      client.subscribe({ query: '{ system { status { version } } }' }, { next: resolve, error: reject, complete: () => undefined }),
    );
    expect(echoed.data.system.status.version).toEqual(expect.any(String));
    const enqueued = await gql(`mutation { jobs { enqueue(type: "test.steps") { job { id } } } }`, operatorKey);
    const jobId = enqueued.body.data.jobs.enqueue.job.id;
    await until(() => progress.length >= 2, 5000, 'two progress events');
    expect(progress.every((p: any) => p.id === jobId)).toBe(true);
    expect(progress.map((p) => p.message)).toEqual(expect.arrayContaining(['step 1', 'step 2']));

    const revokedAt = performance.now();
    expect((await t.op('keys.revoke', { id: key.key.id })).status).toBe(200);
    await ended;
    await until(() => closedAt > 0, 2000, 'the socket to close');
    expect(closeCode).toBe(4403);
    expect(closedAt - revokedAt).toBeLessThan(1000);
  });

  it('streams the messages of a room the key may read, and refuses a room its rules close to the key', async () => {
    const client = wsClient(viewerKey);
    const received: any[] = [];
    client.subscribe(
      { query: `subscription { roomMessages(room: "lobby") { room from data offset } }` },
      {
        next: (value) => void received.push((value.data as any).roomMessages),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await new Promise<any>((resolve, reject) =>
      client.subscribe({ query: '{ system { status { version } } }' }, { next: resolve, error: reject, complete: () => undefined }),
    );
    const published = await gql(`mutation { realtime { publish(room: "lobby", data: { text: "hello" }) { mid } } }`, operatorKey);
    expect(published.body.errors).toBeUndefined();
    await until(() => received.length === 1, 5000, 'the room message');
    expect(received[0]).toMatchObject({ room: 'lobby', data: { text: 'hello' }, offset: expect.any(Number) });

    const refused = await new Promise<any>((resolve) =>
      client.subscribe(
        { query: `subscription { roomMessages(room: "ops:deploys") { data } }` },
        {
          next: (value) => resolve(value.errors?.[0]),
          error: resolve,
          complete: () => undefined,
        },
      ),
    );
    expect(refused.extensions.code).toBe('PH_REALTIME_FORBIDDEN');
  });

  it('refuses a subscription to an event above the key’s role with PH_FORBIDDEN', async () => {
    const client = wsClient(viewerKey);
    const error = await new Promise<any>((resolve) => {
      client.subscribe(
        { query: `subscription { auditAppended { action } }` },
        { next: (v) => resolve(v.errors?.[0]), error: resolve, complete: () => undefined },
      );
    });
    expect(error.extensions.code).toBe('PH_FORBIDDEN');
  });

  it('refuses a /graphql upgrade from another web origin before it becomes a socket, as at /ws', async () => {
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { origin: 'http://evil.example' });
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  it('holds operations on the socket to the same limits, refusing a deep one with PH_GRAPHQL_TOO_DEEP', async () => {
    const client = wsClient(viewerKey);
    const deep = `{ jobs { get(id: "x") { job { children { children { children { children { children { id } } } } } } } } }`;
    const error = await new Promise<any>((resolve) => {
      client.subscribe(
        { query: deep },
        { next: (v) => resolve(v.errors?.[0]), error: (e: any) => resolve(e[0] ?? e), complete: () => undefined },
      );
    });
    expect(error.extensions.code).toBe('PH_GRAPHQL_TOO_DEEP');
  });

  it('closes a graphql-ws connection whose connection_init carries no valid key', async () => {
    const code = await new Promise<number>((resolve) => {
      wsClient('ph_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', (event) => resolve(event.code));
    });
    expect(code).toBe(4403);
  });

  it("closes a key's subscription socket one more than realtime.maxConnectionsPerKey allows, naming why, and counts an admin's none", async () => {
    const key = (await t.op('keys.create', { name: 'many-subscriptions', role: 'operator' })).body.secret as string;
    const answered = (client: Client) =>
      new Promise<void>((resolve, reject) =>
        client.subscribe(
          { query: '{ system { status { version } } }' },
          { next: () => resolve(), error: reject, complete: () => undefined },
        ),
      );
    for (let i = 0; i < 4; i += 1) await answered(wsClient(key));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => wsClient(key, resolve));
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/may hold 4 connections/);
    for (let i = 0; i < 5; i += 1) await answered(wsClient(t.adminKey));
  });
});
