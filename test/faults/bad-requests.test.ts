import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopCaller } from '../../main/core';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);

describe('bad requests answer with a catalogue code, never a 500 or the framework’s own shape', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => t.stop());

  const send = async (method: string, path: string, body?: string) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      allow: res.headers.get('allow'),
      body: (text === '' ? {} : JSON.parse(text)) as { error?: { code: string; field?: string } },
    };
  };

  it('refuses JSON nested 5,000 deep in free-form values with 400 PH_JSON_TOO_DEEP (cache PUT, realtime.publish, jobs.enqueue)', async () => {
    const cases = [
      await send('PUT', '/api/v2/cache/deep/k', `{"value":${deep(5000)}}`),
      await send('POST', '/api/v2/ops/realtime.publish', `{"room":"deep","data":${deep(5000)}}`),
      await send('POST', '/api/v2/ops/jobs.enqueue', `{"type":"cache.warm","payload":${deep(5000)}}`),
    ];
    for (const c of cases) expect(c).toMatchObject({ status: 400, body: { error: { code: 'PH_JSON_TOO_DEEP' } } });
    expect(await send('PUT', '/api/v2/cache/deep/k', `{"value":${deep(20)}}`)).toMatchObject({ status: 204 });
    await expect(
      t.plane.running.dispatcher.call('realtime.publish', { room: 'deep', data: JSON.parse(deep(5000)) }, desktopCaller),
    ).rejects.toMatchObject({ code: 'PH_JSON_TOO_DEEP' });
  }, 30_000);

  it('checks time ranges: monitoring.usage.export with a `to` past the last valid date is 400 PH_INVALID_INPUT naming the field, and `to` before `from` is PH_MONITORING_BAD_RANGE', async () => {
    const past = await send('POST', '/api/v2/ops/monitoring.usage.export', JSON.stringify({ from: 0, to: 1e20, format: 'csv' }));
    expect(past).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'to' } } });
    const backwards = await send('POST', '/api/v2/ops/monitoring.usage.export', JSON.stringify({ from: 2_000, to: 1_000, format: 'csv' }));
    expect(backwards).toMatchObject({ status: 400, body: { error: { code: 'PH_MONITORING_BAD_RANGE', field: 'to' } } });
  });

  it('answers router errors (%zz, an over-long parameter) in the catalogue shape', async () => {
    expect(await send('GET', '/api/v2/cache/a/%zz')).toMatchObject({
      status: 400,
      body: { error: { code: 'PH_INVALID_INPUT', field: 'path' } },
    });
    // Wherever the over-long parameter sits, never a 405 for a path that exists with this method.
    for (const path of [`/api/v2/cache/a/${'k'.repeat(5000)}`, `/api/v1/cache/${'k'.repeat(5000)}/b`, `/api/v2/jobs/${'k'.repeat(5000)}`]) {
      expect(await send('GET', path)).toMatchObject({
        status: 400,
        body: { error: { code: 'PH_INVALID_INPUT', field: 'path' } },
      });
    }
  });

  it('takes a JSON null body as a value that is not an object, not as {}', async () => {
    expect(await send('POST', '/api/v2/ops/keys.list', 'null')).toMatchObject({
      status: 400,
      body: { error: { code: 'PH_INVALID_INPUT', field: 'input' } },
    });
    expect(await send('POST', '/api/v2/ops/keys.list')).toMatchObject({ status: 200 });
  });

  it('answers a wrong method on an existing path with 405 and Allow, and an unknown path with 404', async () => {
    expect(await send('GET', '/api/v2/ops/keys.list')).toMatchObject({
      status: 405,
      allow: 'POST',
      body: { error: { code: 'PH_METHOD_NOT_ALLOWED' } },
    });
    const patch = await send('PATCH', '/api/v1/cache/a/b', '{}');
    expect(patch).toMatchObject({ status: 405, body: { error: { code: 'PH_METHOD_NOT_ALLOWED' } } });
    expect(patch.allow?.split(', ')).toEqual(expect.arrayContaining(['DELETE', 'GET', 'PUT']));
    expect(await send('GET', '/api/v2/no-such-thing')).toMatchObject({ status: 404, body: { error: { code: 'PH_NOT_FOUND' } } });
  });
});
