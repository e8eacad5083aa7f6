import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../main/config';
import { tempDir } from '../helpers/temp-dir';

describe('webhook settings in the config file', () => {
  const dir = tempDir('ph-webhook-config-');
  afterAll(() => dir.remove());
  const load = (webhooks: unknown) => {
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify({ dataDir: dir.path, webhooks }));
    return loadConfig({ argv: ['--config', file], env: {} }).config;
  };

  it('takes extra allowed CIDRs and the retry window', () => {
    expect(load({ allowCidrs: ['203.0.113.0/24'], retryWindowHours: 6 }).webhooks).toEqual({
      allowCidrs: ['203.0.113.0/24'],
      retryWindowHours: 6,
    });
  });

  it('refuses a host name or a bare address where a CIDR belongs, naming the setting', () => {
    expect(() => load({ allowCidrs: ['example.com'] })).toThrow(/webhooks/);
    expect(() => load({ retryWindowHours: 0 })).toThrow(/webhooks/);
  });
});
