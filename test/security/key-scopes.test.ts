import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

describe('keys.update: an admin sets a key’s scopes', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('replaces the scopes, which the key’s next request carries, and audits the change', async () => {
    const made = await t.op('keys.create', { name: 'ci', role: 'operator', scopes: ['jobs:read'] });
    const id = made.body.key.id as string;
    const updated = await t.op('keys.update', { id, scopes: ['jobs:read', 'cache:write', 'cache:write'] });
    expect(updated.status).toBe(200);
    expect(updated.body.key.scopes).toEqual(['jobs:read', 'cache:write']);
    expect((await t.op('keys.list')).body.keys.find((k: { id: string }) => k.id === id).scopes).toEqual(['jobs:read', 'cache:write']);
    expect(t.plane.running.keys.verify(made.body.secret)?.scopes).toEqual(['jobs:read', 'cache:write']);
    const audit = (await t.op('audit.list', { action: 'keys.update' })).body.entries;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'ok', target: id });
  });

  it('refuses an operator (403 PH_FORBIDDEN) and leaves the scopes as they were', async () => {
    const target = await t.op('keys.create', { name: 'probe', role: 'viewer', scopes: ['status:read'] });
    const operator = await t.op('keys.create', { name: 'on call', role: 'operator', scopes: ['*'] });
    const refused = await t.op('keys.update', { id: target.body.key.id, scopes: ['*'] }, operator.body.secret);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('PH_FORBIDDEN');
    expect(t.plane.running.keys.get(target.body.key.id).scopes).toEqual(['status:read']);
  });

  it('answers 404 PH_KEY_NOT_FOUND for a key that does not exist', async () => {
    const missing = await t.op('keys.update', { id: 'ffffffffffffffff', scopes: [] });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('PH_KEY_NOT_FOUND');
  });
});
