import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Database } from '../../main/store';
import { webhooksMigrations } from '../../main/webhooks';
import { EndpointStore } from '../../main/webhooks/endpoint-store';
import { tempDir } from '../helpers/temp-dir';

describe('the webhook endpoint store, which keeps its rows between writes', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Database;
  let store: EndpointStore;

  beforeEach(() => {
    dir = tempDir('ph-wh-endpoints-');
    db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: webhooksMigrations });
    store = new EndpointStore(db);
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  it('answers every read with what the last write left, whichever write it was', () => {
    const a = store.create({ url: 'http://127.0.0.1:9/a', eventTypes: ['job.finished'] }, 'test', 1_000);
    const b = store.create({ url: 'http://127.0.0.1:9/b', eventTypes: ['job.finished', 'job.dead'] }, 'test', 2_000);
    expect(store.subscribedTo('job.finished').map((e) => e.id)).toEqual([a.id, b.id]);

    store.update(a.id, { url: 'http://127.0.0.1:9/a2', eventTypes: ['job.dead'] }, 3_000);
    expect(store.get(a.id).url).toBe('http://127.0.0.1:9/a2');
    expect(store.subscribedTo('job.finished').map((e) => e.id)).toEqual([b.id]);

    expect(store.disable(b.id, 'the receiver answered 410 Gone', 4_000)).toBe(true);
    expect(store.disable(b.id, 'again', 5_000)).toBe(false);
    expect(store.subscribedTo('job.dead').map((e) => e.id)).toEqual([a.id]);
    expect(store.countDisabled()).toBe(1);

    // As the fleet-wide table writes the merge winner from another node.
    store.put({ ...store.get(b.id), enabled: true, disabledReason: null, url: 'http://127.0.0.1:9/b2', updatedAt: 6_000 });
    expect(store.find(b.id)).toMatchObject({ enabled: true, url: 'http://127.0.0.1:9/b2' });
    expect(store.countDisabled()).toBe(0);

    expect(store.remove(a.id)).toBe(true);
    expect(store.find(a.id)).toBeNull();
    expect(store.list().map((e) => e.id)).toEqual([b.id]);
  });

  it('does not keep what a transaction wrote and then rolled back', () => {
    const a = store.create({ url: 'http://127.0.0.1:9/a', eventTypes: ['job.finished'] }, 'test', 1_000);
    expect(() =>
      db.transaction(() => {
        store.update(a.id, { url: 'http://127.0.0.1:9/rolled-back' }, 2_000);
        expect(store.get(a.id).url).toBe('http://127.0.0.1:9/rolled-back');
        throw new Error('abandoned');
      })(),
    ).toThrow('abandoned');
    expect(store.get(a.id).url).toBe('http://127.0.0.1:9/a');
  });

  it('hands out records no reader can change for the next one', () => {
    const a = store.create({ url: 'http://127.0.0.1:9/a', eventTypes: ['job.finished'], filter: { type: 'backup' } }, 'test', 1_000);
    const read = store.get(a.id);
    expect(() => read.eventTypes.push('job.dead')).toThrow(TypeError);
    expect(() => {
      read.filter.type = 'other';
    }).toThrow(TypeError);
    expect(store.get(a.id)).toMatchObject({ eventTypes: ['job.finished'], filter: { type: 'backup' } });
  });
});
