import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Pilothouse, type WebSocketFactory } from '../../client/src';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

/**
 * A real fetch that can hold back the answer to one operation: the request reaches the server and is
 * answered there; the client hears the answer only once the test releases it. This orders a write by
 * another party (and its notice on the hub) after the server answered and before the client stores.
 */
function holdingFetch() {
  const requests: string[] = [];
  let held: { path: string; answered: () => void; release: Promise<void> } | null = null;
  const fetchImpl: typeof fetch = async (input, init) => {
    requests.push(String(input));
    const res = await fetch(input, init);
    const hold = held;
    if (hold !== null && String(input).endsWith(hold.path)) {
      held = null;
      hold.answered();
      await hold.release;
    }
    return res;
  };
  /** Holds the next answer to `operation`; `answered` resolves once the server answered it. */
  function holdNext(operation: string): { answered: Promise<void>; release: () => void } {
    let answered!: () => void;
    let release!: () => void;
    const answeredP = new Promise<void>((r) => (answered = r));
    const releaseP = new Promise<void>((r) => (release = r));
    held = { path: `/api/v2/ops/${operation}`, answered, release: releaseP };
    return { answered: answeredP, release };
  }
  return { fetch: fetchImpl, holdNext, requests };
}

/** The client's L1 against a live server: a reply is not kept when the hub said meanwhile that it is outdated. */
describe('the client cache L1 and notices that arrive while a request is under way', () => {
  let plane: TestPlane;
  let key: string;
  let ph: Pilothouse;
  let wire: ReturnType<typeof holdingFetch>;
  /** The hub's notices this client heard, as `event namespace/key` (`namespace/*`: a tag or the whole namespace). */
  let heard: string[];

  beforeAll(async () => {
    plane = await startTestPlane();
    key = (await plane.op('keys.create', { name: 'l1 program', role: 'operator' })).body.secret;
  });
  afterAll(async () => {
    await plane?.stop();
  });
  beforeEach(async (context) => {
    wire = holdingFetch();
    ph = new Pilothouse({
      url: plane.url,
      apiKey: key,
      auth: 'key',
      fetch: wire.fetch,
      WebSocket: WebSocket as unknown as WebSocketFactory,
    });
    heard = [];
    await ph.events.on('cache.written', (w) => heard.push(...w.keys.map((k) => `written ${w.namespace}/${k}`)));
    await ph.events.on('cache.invalidated', (i) => heard.push(...(i.keys ?? ['*']).map((k) => `invalidated ${i.namespace}/${k}`)));
    // A first read starts L1 (it follows the invalidations from then on).
    expect(await ph.cache.get('fenced', 'warm-up')).toBeUndefined();
    context.onTestFinished(() => ph.close());
  });

  it('does not keep its own write in L1 when another party wrote the key after it, before its answer arrived', async () => {
    const hold = wire.holdNext('cache.put');
    const setting = ph.cache.set('fenced', 'raced', 'from the client');
    await hold.answered; // the server holds 'from the client'
    await plane.op('cache.put', { namespace: 'fenced', key: 'raced', value: 'from REST' });
    // Its own write's notice, then the REST write's: both arrived before its answer.
    await until(() => heard.filter((h) => h === 'written fenced/raced').length === 2, 5_000, 'both notices');
    hold.release();
    await setting;
    expect((await plane.op('cache.get', { namespace: 'fenced', key: 'raced' })).body.value).toBe('from REST');
    expect(await ph.cache.get('fenced', 'raced')).toBe('from REST');
  });

  it('answers a read with the value it got, but does not keep it when the key was written while the read awaited the server', async () => {
    await plane.op('cache.put', { namespace: 'fenced', key: 'read', value: 'old' });
    await until(() => heard.includes('written fenced/read'), 5_000, 'the notice of the first write');
    heard.length = 0;
    const hold = wire.holdNext('cache.get');
    const reading = ph.cache.get('fenced', 'read');
    await hold.answered;
    await plane.op('cache.put', { namespace: 'fenced', key: 'read', value: 'new' });
    await until(() => heard.includes('written fenced/read'), 5_000, 'the notice of the write');
    hold.release();
    expect(await reading).toBe('old'); // current when the read began
    expect(await ph.cache.get('fenced', 'read')).toBe('new');
    // That read was not fenced: L1 keeps it, and the next read makes no request.
    const before = wire.requests.length;
    expect(await ph.cache.get('fenced', 'read')).toBe('new');
    expect(wire.requests.length).toBe(before);
  });

  it.each([
    ['a tag invalidation', { op: 'cache.invalidate', input: { namespace: 'fenced', tags: ['t'] } }],
    ['a namespace clear', { op: 'cache.clear', input: { namespace: 'fenced' } }],
  ])('does not keep a read when %s arrived while it awaited the server', async (_, drop) => {
    await plane.op('cache.put', { namespace: 'fenced', key: 'tagged', value: 'doomed', tags: ['t'] });
    // Its notice is past before the read begins: only the invalidation can fence the read.
    await until(() => heard.includes('written fenced/tagged'), 5_000, 'the notice of the write');
    heard.length = 0;
    const hold = wire.holdNext('cache.get');
    const reading = ph.cache.get('fenced', 'tagged');
    await hold.answered;
    await plane.op(drop.op, drop.input);
    await until(() => heard.includes('invalidated fenced/*'), 5_000, 'the notice of the invalidation');
    hold.release();
    expect(await reading).toBe('doomed');
    expect(await ph.cache.get('fenced', 'tagged')).toBeUndefined();
  });
});
