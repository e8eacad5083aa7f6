import { createSocket } from 'node:dgram';
import { Bonjour } from 'bonjour-service';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CheckRunners,
  GatewayStats,
  HealthChecker,
  LanDiscovery,
  LoadBalancer,
  defaultAllowedTargets,
  discoveryHandlers,
  TargetPolicy,
  type LanDiscoveryOptions,
} from '../../main/discovery';
import { createLogger } from '../../main/logger';
import { registryFixture, tcpListener, waitFor } from './helpers';

/**
 * Real mDNS over loopback: multicast on 127.0.0.1 with a private port per test (never 5353, so
 * nothing on the machine hears us and we hear nothing of it). Binding 0.0.0.0 is what lets a socket
 * receive multicast datagrams; membership is only on the loopback interface.
 */
async function privateMdnsPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const mdnsOn = (port: number) => ({ port, interface: '127.0.0.1', bind: '0.0.0.0' });
const logger = createLogger('silent');
const clock = { now: () => Date.now() };

describe('LAN discovery over mDNS on loopback', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const peer = (port: number): Bonjour => {
    const b = new Bonjour(mdnsOn(port), () => undefined);
    cleanups.push(() => new Promise<void>((resolve) => b.destroy(() => resolve())));
    return b;
  };
  const lan = (port: number, options: Partial<LanDiscoveryOptions> = {}, enabled = true): LanDiscovery => {
    const l = new LanDiscovery({
      enabled,
      version: '0.1.0',
      port: () => 7420,
      options: { browseTypes: ['http'], requeryMs: 200, mdns: mdnsOn(port), instanceName: 'Pilothouse test node', ...options },
      clock,
      logger,
    });
    cleanups.push(() => l.stop());
    return l;
  };

  it('finds a service announced before Pilothouse started browsing', async () => {
    const port = await privateMdnsPort();
    peer(port).publish({ name: 'early-bird', type: 'http', port: 8181, txt: { version: '1.2.3' }, probe: false });
    await new Promise((r) => setTimeout(r, 300)); // its announcement is long gone when we start
    const l = lan(port);
    await l.start();
    const found = await waitFor(() => l.list().find((s) => s.name === 'early-bird'), 5_000, 'early-bird');
    expect(found).toMatchObject({ type: 'http', port: 8181, txt: { version: '1.2.3' }, adoptedAs: null });
    expect(found.fqdn).toBe('early-bird._http._tcp.local');
    expect(found.addresses).toContain('127.0.0.1');
  });

  it('announces itself as _pilothouse._tcp with its version and port, and says goodbye on stop', async () => {
    const port = await privateMdnsPort();
    const l = lan(port);
    await l.start();
    const browser = peer(port).find({ type: 'pilothouse' });
    const up = await waitFor(() => browser.services.find((s) => s.name === 'Pilothouse test node'), 5_000, 'announcement');
    expect(up.port).toBe(7420);
    expect(up.txt).toMatchObject({ version: '0.1.0', port: '7420' });
    const gone = new Promise<number>((resolve) => browser.on('down', () => resolve(Date.now())));
    const stoppedAt = Date.now();
    await l.stop();
    // A goodbye (TTL 0), not the record's TTL running out (that would take minutes).
    expect((await gone) - stoppedAt).toBeLessThan(2_000);
    browser.stop();
  });

  it('drops a discovered service when it sends its goodbye', async () => {
    const port = await privateMdnsPort();
    const other = peer(port);
    other.publish({ name: 'short-lived', type: 'http', port: 8282, probe: false });
    const l = lan(port);
    await l.start();
    await waitFor(() => l.list().some((s) => s.name === 'short-lived'), 5_000, 'short-lived');
    await new Promise<void>((resolve) => other.unpublishAll(() => resolve()));
    await waitFor(() => !l.list().some((s) => s.name === 'short-lived'), 5_000, 'goodbye');
  });

  it('never binds the mDNS port when LAN access is off', async () => {
    const port = await privateMdnsPort();
    const l = lan(port, {}, false);
    await l.start();
    expect(l.status()).toEqual({ state: 'stopped', detail: 'LAN access is off: no mDNS' });
    // An exclusive bind succeeds only if nobody (not even with SO_REUSEADDR) holds the port.
    const probe = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind({ port, address: '0.0.0.0', exclusive: true }, resolve);
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expect(l.list()).toEqual([]);
  });

  it('adopts a discovered service into the registry with a check that runs', async () => {
    const port = await privateMdnsPort();
    const tcp = await tcpListener();
    cleanups.push(() => tcp.close());
    peer(port).publish({ name: 'printer', type: 'http', port: tcp.port, txt: { version: '3.0.0' }, probe: false });
    const l = lan(port);
    await l.start();
    await waitFor(() => l.list().some((s) => s.name === 'printer'), 5_000, 'printer');
    const f = registryFixture();
    const runners = new CheckRunners();
    const checker = new HealthChecker(f.registry, runners, clock, logger);
    checker.start();
    cleanups.push(
      () => f.close(),
      () => runners.close(),
      () => checker.stop(),
    );
    const handlers = discoveryHandlers({
      registry: f.registry,
      balancer: new LoadBalancer(f.registry, clock),
      stats: new GatewayStats(),
      lan: l,
      targets: new TargetPolicy({ allowed: defaultAllowedTargets, ownHttpPort: () => null, redis: null }),
    });
    const adminCaller = { actor: 'test', keyId: null, role: 'admin' as const, scopes: ['*'] };
    const { instance } = await handlers['services.adopt'](
      {
        fqdn: 'printer._http._tcp.local',
        name: 'printer',
        address: '127.0.0.1',
        check: { kind: 'tcp', timeoutMs: 1000, intervalMs: 30, failuresBeforeCritical: 1 },
      },
      adminCaller,
    );
    expect(instance).toMatchObject({ name: 'printer', address: '127.0.0.1', port: tcp.port, version: '3.0.0', tags: ['lan', 'mdns:http'] });
    await waitFor(() => f.registry.get(instance.id).state === 'passing', 3_000, 'adopted check passing');
    expect(l.list().find((s) => s.name === 'printer')?.adoptedAs).toBe(instance.id);
  });
});
