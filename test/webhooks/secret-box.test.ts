import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../main/webhooks';

describe('endpoint secrets sealed for the fleet', () => {
  const box = new SecretBox(randomBytes(32));
  const secrets = JSON.stringify([{ secret: 'whsec_c2VjcmV0LXZhbHVlLWZvci10ZXN0cw', expiresAt: null }]);

  it('opens only for the endpoint and the key it was sealed with, and shows nothing of the secret', () => {
    const sealed = box.seal('endpoint-1', secrets);
    expect(sealed).not.toContain('c2VjcmV0');
    expect(box.open('endpoint-1', sealed)).toBe(secrets);
    expect(box.open('endpoint-2', sealed)).toBeNull();
    expect(new SecretBox(randomBytes(32)).open('endpoint-1', sealed)).toBeNull();
    const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === 'A' ? 'B' : 'A'}${sealed.at(-1)}`;
    expect(box.open('endpoint-1', flipped)).toBeNull();
    expect(box.open('endpoint-1', 'v0.garbage')).toBeNull();
  });

  it('seals the same secrets alike, so a restart does not look like an edit, and different ones apart', () => {
    expect(box.seal('endpoint-1', secrets)).toBe(box.seal('endpoint-1', secrets));
    expect(box.seal('endpoint-1', secrets)).not.toBe(box.seal('endpoint-1', secrets.replace('null', '1')));
  });
});
