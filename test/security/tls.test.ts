import { X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import pino from 'pino';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig, type Config } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { tlsMode } from '../../main/http';
import { RealtimeClient, pinnedWebSocket } from '../../main/realtime/client/node';
import { tempDir } from '../helpers/temp-dir';

/** A private mDNS port on loopback (never 5353): LAN access starts mDNS, and it must hear nobody. */
async function privateMdnsPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

interface Started {
  plane: ControlPlane;
  adminKey: string;
  logs: string[];
}

/** A real node bound to 127.0.0.1, with LAN access on (mDNS on a private loopback port) unless the overrides say otherwise. */
async function startNode(dataDir: string, overrides: Partial<Config>): Promise<Started> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const config: Config = { ...defaultConfig(dataDir), port: 0, logLevel: 'info', ...overrides };
  const mdns = { port: await privateMdnsPort(), interface: '127.0.0.1', bind: '0.0.0.0' };
  const plane = new ControlPlane(
    { config, sources: ['test'] },
    { mode: 'headless', logger: pino({ level: 'info' }, sink), discovery: { lan: { mdns, browseTypes: [], requeryMs: 60_000 } } },
  );
  await plane.start();
  return { plane, adminKey: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(), logs };
}

/** GET over HTTPS trusting only `ca` (the node's certificate): proves the chain and the name check pass. */
function httpsGet(url: string, ca: string, key: string): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${key}` } }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS on the embedded server', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('speaks TLS on the LAN unless the operator explicitly asks for plain HTTP', () => {
    expect(tlsMode({ lanAccess: true })).toEqual({ kind: 'self-signed' });
    expect(tlsMode({ lanAccess: true, insecureLan: true })).toEqual({ kind: 'none' });
    expect(tlsMode({ lanAccess: false })).toEqual({ kind: 'none' });
    expect(tlsMode({ lanAccess: true, tlsCert: '/c.pem', tlsKey: '/k.pem' })).toEqual({
      kind: 'files',
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
    const base = defaultConfig('/var/lib/pilothouse');
    const flags = loadConfig({
      argv: ['--lan', '--host', '0.0.0.0', '--insecure-lan', '--public-name', 'ph.lan'],
      env: {},
      defaults: base,
    });
    expect(flags.config).toMatchObject({ lanAccess: true, insecureLan: true, publicNames: ['ph.lan'] });
    expect(() => loadConfig({ argv: ['--tls-cert', '/c.pem'], env: {}, defaults: base })).toThrowError(
      expect.objectContaining({ code: 'PH_CONFIG_INVALID', field: 'tlsKey' }),
    );
    const env = loadConfig({ argv: [], env: { PILOTHOUSE_TLS_CERT: '/c.pem', PILOTHOUSE_TLS_KEY: '/k.pem' }, defaults: base });
    expect(env.config).toMatchObject({ tlsCert: '/c.pem', tlsKey: '/k.pem' });
  });

  it('with --lan and no certificate makes a self-signed one, keeps it 0600, logs and shows its fingerprint, and reuses it', async () => {
    const dir = tempDir('ph-tls-');
    cleanups.push(() => dir.remove());
    const first = await startNode(dir.path, { lanAccess: true });
    cleanups.push(() => first.plane.stop());
    const certPem = readFileSync(join(dir.path, 'tls', 'cert.pem'), 'utf8');
    const fingerprint = new X509Certificate(certPem).fingerprint256;
    expect(statSync(join(dir.path, 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir.path, 'tls')).mode & 0o777).toBe(0o700);
    expect(first.plane.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(first.logs.join('')).toContain(fingerprint);

    const status = await httpsGet(`${first.plane.url}/api/v2/status`, certPem, first.adminKey);
    expect(status.status).toBe(200);
    expect(status.fingerprint).toBe(fingerprint);
    expect(JSON.parse(status.body).tls).toEqual({ enabled: true, selfSigned: true, fingerprint256: fingerprint });
    // Plain HTTP on the same port gets no answer a browser could use.
    await expect(fetch(first.plane.url.replace('https', 'http') + '/readyz')).rejects.toThrow();

    await first.plane.stop();
    const second = await startNode(dir.path, { lanAccess: true });
    cleanups.push(() => second.plane.stop());
    expect(second.plane.tls?.fingerprint256).toBe(fingerprint);
  });

  it('serves HTTPS and WSS with the operator certificate, and a pinning client refuses any other', async () => {
    const dir = tempDir('ph-tls-files-');
    cleanups.push(() => dir.remove());
    const made = await generate([{ name: 'commonName', value: 'operator cert' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const certFile = join(dir.path, 'cert.pem');
    const keyFile = join(dir.path, 'key.pem');
    writeFileSync(certFile, made.cert);
    writeFileSync(keyFile, made.private, { mode: 0o600 });
    const node = await startNode(join(dir.path, 'data'), { tlsCert: certFile, tlsKey: keyFile });
    cleanups.push(() => node.plane.stop());
    const fingerprint = new X509Certificate(made.cert).fingerprint256;
    expect(node.plane.tls).toMatchObject({ fingerprint256: fingerprint, selfSigned: false });
    expect((await httpsGet(`${node.plane.url}/readyz`, made.cert, node.adminKey)).status).toBe(200);

    const wss = `${node.plane.url.replace('https', 'wss')}/ws`;
    const pinned = new RealtimeClient({
      url: wss,
      token: node.adminKey,
      WebSocket: pinnedWebSocket(fingerprint.toLowerCase()),
      reconnect: false,
    });
    cleanups.push(() => pinned.close());
    const welcome = await pinned.connect();
    expect(welcome.type).toBe('welcome');
    expect(await pinned.ping()).toBeGreaterThanOrEqual(0);

    const wrong = new RealtimeClient({ url: wss, token: node.adminKey, WebSocket: pinnedWebSocket('00'.repeat(32)), reconnect: false });
    cleanups.push(() => wrong.close());
    await expect(wrong.connect()).rejects.toMatchObject({ code: 'PH_UNAVAILABLE' });
    expect(node.plane.running.realtime.connectionCount).toBe(1);
    const Pinned = pinnedWebSocket(fingerprint);
    expect(() => new Pinned(wss.replace('wss', 'ws'))).toThrow(/wss/);
  });

  it('refuses a key that does not belong to the certificate, naming the setting', async () => {
    const dir = tempDir('ph-tls-bad-');
    cleanups.push(() => dir.remove());
    const a = await generate(undefined, { keyType: 'ec' });
    const b = await generate(undefined, { keyType: 'ec' });
    writeFileSync(join(dir.path, 'cert.pem'), a.cert);
    writeFileSync(join(dir.path, 'key.pem'), b.private);
    const config: Config = { ...defaultConfig(join(dir.path, 'data')), port: 0, logLevel: 'silent' };
    const plane = new ControlPlane(
      { config: { ...config, tlsCert: join(dir.path, 'cert.pem'), tlsKey: join(dir.path, 'key.pem') }, sources: ['test'] },
      { mode: 'headless', logger: pino({ level: 'silent' }) },
    );
    await expect(plane.start()).rejects.toMatchObject({ code: 'PH_TLS_INVALID', field: 'tlsKey' });
  });
});
