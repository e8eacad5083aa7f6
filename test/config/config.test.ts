import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { durationOf } from '../../main/core';
import { defaultConfig, loadConfig } from '../../main/config';
import { retentionOf } from '../../main/retention-config';
import { tempDir } from '../helpers/temp-dir';

describe('config', () => {
  const dirs: { remove: () => void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
  const base = defaultConfig('/var/lib/pilothouse');
  const SECRET = 'a-fleet-secret-of-more-than-32-characters';

  it('works on a bare machine with loopback defaults', () => {
    const { config, sources } = loadConfig({ argv: [], env: {}, defaults: base });
    expect(config).toMatchObject({ host: '127.0.0.1', port: 7420, lanAccess: false, dataDir: '/var/lib/pilothouse' });
    expect(sources).toEqual(['defaults']);
  });

  it('layers defaults, then the config file, then PILOTHOUSE_* env, then flags', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'pilothouse.json');
    writeFileSync(file, JSON.stringify({ port: 8000, logLevel: 'debug', dataDir: '/from/file' }));
    const { config, sources } = loadConfig({
      argv: ['--config', file, '--port', '9000'],
      env: {
        PILOTHOUSE_PORT: '8500',
        PILOTHOUSE_DATA_DIR: '/from/env',
        REDIS_URL: 'redis://127.0.0.1:6390',
        PILOTHOUSE_FLEET_SECRET: SECRET,
      },
      defaults: base,
    });
    expect(config.port).toBe(9000);
    expect(config.dataDir).toBe('/from/env');
    expect(config.logLevel).toBe('debug');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6390');
    expect(sources.map((s) => s.split(' ')[0])).toEqual(['defaults', 'file', 'environment', 'flags']);
  });

  it('takes --host --port --data-dir --redis-url from the command line', () => {
    const { config } = loadConfig({
      argv: ['--host', '::1', '--port', '0', '--data-dir', 'relative/dir', '--redis-url', 'redis://127.0.0.1:1'],
      env: { PILOTHOUSE_FLEET_SECRET: SECRET },
      defaults: base,
    });
    expect(config.host).toBe('::1');
    expect(config.port).toBe(0);
    expect(config.dataDir).toBe(join(process.cwd(), 'relative/dir'));
    expect(config.redisUrl).toBe('redis://127.0.0.1:1');
  });

  it.each([
    [['--port', 'eighty'], 'port'],
    [['--port', '70000'], 'port'],
    [['--redis-url', 'http://nope'], 'redisUrl'],
    [['--log-level', 'loud'], 'logLevel'],
    [['--colour', 'blue'], 'argv'],
  ])('rejects %j with PH_CONFIG_INVALID naming %s', (argv, field) => {
    expect(() => loadConfig({ argv, env: {}, defaults: base })).toThrowError(expect.objectContaining({ code: 'PH_CONFIG_INVALID', field }));
  });

  it('takes backup roots, allowed targets and public names from the file, the environment and repeatable flags', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'reach.json');
    writeFileSync(file, JSON.stringify({ backup: { roots: ['/srv/dbs'] }, discovery: { allowedTargets: ['10.1.0.0/16', 'printer.lan'] } }));
    const fromFile = loadConfig({ argv: ['--config', file], env: {}, defaults: base }).config;
    expect(fromFile.backup?.roots).toEqual(['/srv/dbs']);
    expect(fromFile.discovery?.allowedTargets).toEqual(['10.1.0.0/16', 'printer.lan']);
    const fromEnv = loadConfig({
      argv: [],
      env: {
        PILOTHOUSE_BACKUP_ROOTS: '/a:/b',
        PILOTHOUSE_DISCOVERY_ALLOWED_TARGETS: '127.0.0.0/8, fd00::/8',
        PILOTHOUSE_PUBLIC_NAMES: 'ph.lan',
      },
      defaults: base,
    }).config;
    expect(fromEnv).toMatchObject({
      backup: { roots: ['/a', '/b'] },
      discovery: { allowedTargets: ['127.0.0.0/8', 'fd00::/8'] },
      publicNames: ['ph.lan'],
    });
    const fromFlags = loadConfig({
      argv: ['--backup-root', '/x', '--backup-root', '/y', '--allow-target', '192.168.7.0/24'],
      env: {},
      defaults: base,
    });
    expect(fromFlags.config).toMatchObject({ backup: { roots: ['/x', '/y'] }, discovery: { allowedTargets: ['192.168.7.0/24'] } });
  });

  it("lays a flag or variable over its one setting of a section, keeping the file's other settings there", () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'peer.json');
    const backup = { roots: ['/srv/dbs'], peerSenders: ['node-a'], peerQuotaMiB: 512, replicaRoots: ['/mnt/replicas'] };
    writeFileSync(file, JSON.stringify({ backup, realtime: { maxSubscriptions: 50 } }));
    const { config } = loadConfig({
      argv: ['--config', file, '--backup-root', '/x', '--backup-root', '/y'],
      env: { PILOTHOUSE_DISCOVERY_ALLOWED_TARGETS: '10.0.0.0/8' },
      defaults: base,
    });
    expect(config.backup).toEqual({ ...backup, roots: ['/x', '/y'] });
    expect(config.realtime).toEqual({ maxSubscriptions: 50 });
    expect(config.discovery).toEqual({ allowedTargets: ['10.0.0.0/8'] });
    // An unknown setting in the file's section is still refused when a flag names the same section.
    writeFileSync(file, JSON.stringify({ backup: { repoDir: '/elsewhere' } }));
    expect(() => loadConfig({ argv: ['--config', file, '--backup-root', '/x'], env: {}, defaults: base })).toThrowError(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID' }),
    );
  });

  it.each([
    [['--backup-root', 'relative/dir'], 'backup.roots.0'],
    [['--allow-target', '10.0.0.0/33'], 'discovery.allowedTargets.0'],
    [['--allow-target', 'http://x'], 'discovery.allowedTargets.0'],
    [['--public-name', 'evil host'], 'publicNames.0'],
  ])('rejects %j naming %s', (argv, field) => {
    expect(() => loadConfig({ argv, env: {}, defaults: base })).toThrowError(expect.objectContaining({ code: 'PH_CONFIG_INVALID', field }));
  });

  it('requires a durable Redis from the config file, PILOTHOUSE_REQUIRE_DURABLE_REDIS or --require-durable-redis', () => {
    expect(loadConfig({ argv: [], env: {}, defaults: base }).config.requireDurableRedis).toBeUndefined();
    expect(loadConfig({ argv: [], env: { PILOTHOUSE_REQUIRE_DURABLE_REDIS: 'true' }, defaults: base }).config.requireDurableRedis).toBe(
      true,
    );
    expect(loadConfig({ argv: ['--require-durable-redis'], env: {}, defaults: base }).config.requireDurableRedis).toBe(true);
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'pilothouse.json');
    writeFileSync(file, JSON.stringify({ requireDurableRedis: true }));
    expect(loadConfig({ argv: ['--config', file], env: {}, defaults: base }).config.requireDurableRedis).toBe(true);
    expect(() => loadConfig({ argv: [], env: { PILOTHOUSE_REQUIRE_DURABLE_REDIS: 'maybe' }, defaults: base })).toThrow(
      /requireDurableRedis/,
    );
  });

  it('takes room rules and the subscription limit of the real-time hub from the config file, and names a bad rule', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'pilothouse.json');
    const rooms = [{ prefix: 'orders:', subscribeRole: 'operator', publishRole: 'admin', subscribeScope: 'orders', history: false }];
    writeFileSync(file, JSON.stringify({ realtime: { rooms, maxSubscriptions: 32 } }));
    expect(loadConfig({ argv: ['--config', file], env: {}, defaults: base }).config.realtime).toEqual({ rooms, maxSubscriptions: 32 });
    writeFileSync(file, JSON.stringify({ realtime: { rooms: [{ prefix: 'x:', subscribeRole: 'everyone', publishRole: 'none' }] } }));
    expect(() => loadConfig({ argv: ['--config', file], env: {}, defaults: base })).toThrowError(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID', field: expect.stringMatching(/^realtime\.rooms\.0/) }),
    );
    writeFileSync(file, JSON.stringify({ realtime: { maxSubscriptions: 0 } }));
    expect(() => loadConfig({ argv: ['--config', file], env: {}, defaults: base })).toThrowError(
      expect.objectContaining({ field: 'realtime.maxSubscriptions' }),
    );
  });

  it('takes retention windows as whole days or as a duration of at least a minute, and names one out of bounds', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'pilothouse.json');
    const load = (retention: unknown) => {
      writeFileSync(file, JSON.stringify({ retention }));
      return loadConfig({ argv: ['--config', file], env: {}, defaults: base }).config;
    };
    const kept = retentionOf(
      load({ auditDays: '30m', batchDays: 2, completedJobDays: '90s', completedJobCount: 50, usageDays: '12h' }).retention,
    );
    expect(kept).toMatchObject({
      auditMs: 30 * 60_000,
      batchMs: 2 * 86_400_000,
      completedJobMs: 90_000,
      completedJobCount: 50,
      usageMs: 12 * 3_600_000,
    });
    // What is not set keeps its default.
    expect(kept).toMatchObject({ failedJobMs: 7 * 86_400_000, failedJobCount: 10_000, auditRows: 1_000_000 });
    expect(durationOf(kept.auditMs)).toBe('30 minutes');
    expect(durationOf(kept.completedJobMs)).toBe('90 seconds');

    expect(() => load({ batchDays: '59s' })).toThrowError(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID', field: 'retention.batchDays' }),
    );
    expect(() => load({ auditDays: '36501d' })).toThrowError(expect.objectContaining({ field: 'retention.auditDays' }));
    expect(() => load({ usageDays: '5 minutes' })).toThrowError(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID', field: expect.stringMatching(/^retention\.usageDays/) }),
    );
    expect(() => load({ failedJobCount: 5 })).toThrowError(expect.objectContaining({ field: 'retention.failedJobCount' }));
  });

  it('refuses a LAN address unless LAN access is turned on', () => {
    expect(() => loadConfig({ argv: ['--host', '0.0.0.0'], env: {}, defaults: base })).toThrowError(/LAN access/);
    expect(loadConfig({ argv: ['--host', '0.0.0.0', '--lan'], env: {}, defaults: base }).config.host).toBe('0.0.0.0');
  });

  it('says which config file is unreadable or not JSON', () => {
    const dir = tempDir();
    dirs.push(dir);
    const bad = join(dir.path, 'bad.json');
    writeFileSync(bad, '{ port: 1');
    expect(() => loadConfig({ argv: ['--config', bad], env: {}, defaults: base })).toThrowError(/not valid JSON/);
    expect(() => loadConfig({ argv: ['--config', join(dir.path, 'missing.json')], env: {}, defaults: base })).toThrowError(/ENOENT/);
  });

  it('rejects unknown settings in the config file', () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'extra.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ argv: ['--config', file], env: {}, defaults: base })).toThrowError(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID' }),
    );
  });

  describe('fleet secret and Redis', () => {
    it('refuses Redis without a fleet secret, naming the setting', () => {
      expect(() => loadConfig({ argv: ['--redis-url', 'redis://127.0.0.1:1'], env: {}, defaults: base })).toThrowError(
        expect.objectContaining({
          code: 'PH_CONFIG_INVALID',
          field: 'fleetSecret',
          message: expect.stringContaining('PILOTHOUSE_FLEET_SECRET'),
        }),
      );
      expect(() =>
        loadConfig({ argv: ['--redis-sentinels', '127.0.0.1:26379', '--redis-sentinel-name', 'm'], env: {}, defaults: base }),
      ).toThrowError(expect.objectContaining({ field: 'fleetSecret' }));
    });

    it('takes the secret from PILOTHOUSE_FLEET_SECRET or from an owner-only --fleet-secret-file', () => {
      const fromEnv = loadConfig({
        argv: ['--redis-url', 'redis://127.0.0.1:1'],
        env: { PILOTHOUSE_FLEET_SECRET: SECRET },
        defaults: base,
      });
      expect(fromEnv.config.fleetSecret).toBe(SECRET);
      const dir = tempDir();
      dirs.push(dir);
      const file = join(dir.path, 'fleet.secret');
      writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
      const fromFile = loadConfig({ argv: ['--redis-url', 'redis://127.0.0.1:1', '--fleet-secret-file', file], env: {}, defaults: base });
      expect(fromFile.config.fleetSecret).toBe(SECRET);
    });

    it('refuses a secret file other accounts can read', () => {
      const dir = tempDir();
      dirs.push(dir);
      const file = join(dir.path, 'fleet.secret');
      writeFileSync(file, SECRET);
      chmodSync(file, 0o644);
      expect(() =>
        loadConfig({ argv: ['--redis-url', 'redis://127.0.0.1:1', '--fleet-secret-file', file], env: {}, defaults: base }),
      ).toThrowError(expect.objectContaining({ field: 'fleetSecretFile', message: expect.stringContaining('chmod 600') }));
    });

    it('never echoes a secret or a Redis URL (it may hold a password) in a config error', () => {
      const short = 'tooshort-but-secret';
      let message = '';
      try {
        loadConfig({ argv: ['--redis-url', 'redis://127.0.0.1:1'], env: { PILOTHOUSE_FLEET_SECRET: short }, defaults: base });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('"fleetSecret"');
      expect(message).not.toContain(short);
      let urlMessage = '';
      try {
        loadConfig({ argv: ['--redis-url', 'http://user:hunter2@127.0.0.1:1'], env: {}, defaults: base });
      } catch (err) {
        urlMessage = (err as Error).message;
      }
      expect(urlMessage).toContain('"redisUrl"');
      expect(urlMessage).not.toContain('hunter2');
    });

    it('takes Sentinels and their master name from flags and refuses Sentinels without a name', () => {
      const { config } = loadConfig({
        argv: ['--redis-sentinels', '127.0.0.1:26379,127.0.0.1:26380', '--redis-sentinel-name', 'ph'],
        env: { PILOTHOUSE_FLEET_SECRET: SECRET },
        defaults: base,
      });
      expect(config).toMatchObject({ redisSentinels: '127.0.0.1:26379,127.0.0.1:26380', redisSentinelName: 'ph' });
      expect(() =>
        loadConfig({ argv: ['--redis-sentinels', '127.0.0.1:26379'], env: { PILOTHOUSE_FLEET_SECRET: SECRET }, defaults: base }),
      ).toThrowError(expect.objectContaining({ field: 'redisSentinelName' }));
      expect(() =>
        loadConfig({ argv: ['--redis-sentinels', 'nope'], env: { PILOTHOUSE_FLEET_SECRET: SECRET }, defaults: base }),
      ).toThrowError(expect.objectContaining({ field: 'redisSentinels' }));
    });
  });
});
