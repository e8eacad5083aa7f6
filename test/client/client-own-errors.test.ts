import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Pilothouse, PilothouseError, RealtimeClient, RealtimeError, UnavailableError, type WebSocketFactory } from '../../client/src';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

/** Failures the client finds itself, before any request: each carries a catalogue code (docs/client.md). */
describe('the client’s own errors', () => {
  let plane: TestPlane;
  let key: string;
  beforeAll(async () => {
    plane = await startTestPlane();
    key = (await plane.op('keys.create', { name: 'program', role: 'operator' })).body.secret;
  });
  afterAll(async () => {
    await plane?.stop();
  });

  /** Runs `body` as on Node 20 without --experimental-websocket: no WebSocket global. */
  async function withoutWebSocketGlobal(body: () => Promise<void>): Promise<void> {
    const global = globalThis as { WebSocket?: unknown };
    const had = global.WebSocket;
    delete global.WebSocket;
    try {
      await body();
    } finally {
      if (had !== undefined) global.WebSocket = had;
    }
  }

  it('without a WebSocket, fails what needs the socket with PH_UNAVAILABLE naming options.WebSocket, and says its cache has no L1', async () => {
    await withoutWebSocketGlobal(async () => {
      const ph = new Pilothouse({ url: plane.url, apiKey: key, auth: 'key' });
      for (const attempt of [ph.jobs.enqueue({ type: 'cache.warm', payload: {} }), ph.realtime.subscribe('room')]) {
        const err = await attempt.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnavailableError);
        expect(err).toMatchObject({ code: 'PH_UNAVAILABLE', status: 0, message: expect.stringContaining('options.WebSocket') });
      }
      expect(ph.cache.l1Unavailable).toBeInstanceOf(PilothouseError);
      expect(ph.cache.l1Unavailable?.code).toBe('PH_UNAVAILABLE');
      // The cache still works, each read a request.
      await ph.cache.set('no-l1', 'k', 1);
      expect(await ph.cache.get('no-l1', 'k')).toBe(1);
      expect(ph.cache.l1Size).toBe(0);
      await ph.close();

      const hub = new RealtimeClient({ url: `${plane.url.replace(/^http/, 'ws')}/ws`, token: key });
      const err = await hub.connect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RealtimeError);
      expect((err as RealtimeError).code).toBe('PH_UNAVAILABLE');
    });
  });

  it('says its L1 is in use when it has a WebSocket, and when l1 is turned off it names no cause', async () => {
    const ws = WebSocket as unknown as WebSocketFactory;
    const ph = new Pilothouse({ url: plane.url, apiKey: key, auth: 'key', WebSocket: ws });
    const off = new Pilothouse({ url: plane.url, apiKey: key, auth: 'key', WebSocket: ws, l1: false });
    expect(ph.cache.l1Unavailable).toBeNull();
    expect(off.cache.l1Unavailable).toBeNull();
    await ph.close();
    await off.close();
  });

  it('refuses one event the hub does not have and still follows the next one asked for', async () => {
    const ph = new Pilothouse({ url: plane.url, apiKey: key, auth: 'key', WebSocket: WebSocket as unknown as WebSocketFactory });
    try {
      await expect(ph.events.on('no.such.event' as 'jobs.changed', () => undefined)).rejects.toMatchObject({ code: 'PH_INVALID_INPUT' });
      const seen: string[] = [];
      await ph.events.on('jobs.changed', (change) => seen.push(change.state));
      await plane.op('jobs.enqueue', { type: 'cache.warm', payload: {} }, key);
      await expect.poll(() => seen.length, { timeout: 5_000 }).toBeGreaterThan(0);
    } finally {
      await ph.close();
    }
  });

  it('refuses to listen to an event the hub client does not have with PH_INVALID_INPUT naming those it has', () => {
    const ph = new Pilothouse({ url: plane.url, apiKey: key, auth: 'key', WebSocket: WebSocket as unknown as WebSocketFactory });
    // As plain JavaScript would: `reconnect` is no event of the hub client (a reconnect is another `welcome`).
    const listen = () => ph.realtime.on('reconnect' as 'welcome', () => undefined);
    expect(listen).toThrow(RealtimeError);
    expect(listen).toThrow(/"reconnect".*welcome, message, gap, presence, event, open, close, error/);
    let err: unknown;
    try {
      listen();
    } catch (e) {
      err = e;
    }
    expect((err as RealtimeError).code).toBe('PH_INVALID_INPUT');
  });
});
