import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryPlane, upstream, type DiscoveryPlane, type Upstream } from '../discovery/helpers';

/** A POST as curl sends one above 1 MiB: headers with `Expect: 100-continue`, the body only after `100 Continue`. */
function postExpectingContinue(url: string, key: string, body: Buffer): Promise<{ status: number; text: string; continued: boolean }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        expect: '100-continue',
      },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, continued }));
    });
    req.on('error', reject);
  });
}

describe('the gateway and Expect: 100-continue', () => {
  let p: DiscoveryPlane;
  let up: Upstream;
  beforeAll(async () => {
    p = await discoveryPlane();
    up = await upstream('big');
    expect((await p.op('services.register', { name: 'big', id: 'big-1', address: '127.0.0.1', port: up.port })).status).toBe(200);
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  it('forwards a 2 MiB upload sent with Expect: 100-continue, without passing the header on, and the instance stays healthy', async () => {
    const key = await p.key('operator', ['gateway:big']);
    const body = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const res = await postExpectingContinue(`${p.url}/gw/big/upload`, key, body);
    expect(res).toMatchObject({ status: 200, text: 'hello from big', continued: true });
    const seen = up.requests.at(-1);
    expect(seen?.body.length).toBe(body.length);
    expect(seen?.headers.expect).toBeUndefined();
  });
});
