import { afterEach, describe, expect, it } from 'vitest';
import { CheckRunners, HealthChecker, resolveChecks } from '../../main/discovery';
import { createLogger } from '../../main/logger';
import { registryFixture, tcpListener, upstream, waitFor, sleep, type RegistryFixture, type Upstream } from './helpers';

const logger = createLogger('silent');

describe('health checks against real servers on 127.0.0.1', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const setup = (sweepMs = 50): { f: RegistryFixture; checker: HealthChecker; runners: CheckRunners } => {
    const f = registryFixture();
    const runners = new CheckRunners();
    const checker = new HealthChecker(f.registry, runners, { now: () => Date.now() }, logger, { sweepMs });
    checker.start();
    cleanups.push(
      () => f.close(),
      () => runners.close(),
      () => checker.stop(),
    );
    return { f, checker, runners };
  };
  const server = async (name?: string): Promise<Upstream> => {
    const s = await upstream(name);
    cleanups.push(() => s.close());
    return s;
  };

  it('passes an HTTP check on 2xx, warns on 429, goes critical on 500, and keeps the last output', async () => {
    const { f } = setup();
    const up = await server();
    up.body = 'all good';
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', timeoutMs: 1000, intervalMs: 30, failuresBeforeCritical: 1 }],
    });
    await waitFor(() => f.registry.get('w').state === 'passing', 3_000, 'passing');
    expect(f.registry.get('w').checks[0]?.output).toMatch(/^HTTP GET http:\/\/127\.0\.0\.1:\d+\/health: 200 OK in \d+ ms\nall good$/);
    expect(up.requests[0]?.headers['user-agent']).toBe('pilothouse-health-check');
    up.status = 429;
    await waitFor(() => f.registry.get('w').state === 'warning', 3_000, 'warning');
    up.status = 500;
    up.body = 'database down';
    await waitFor(() => f.registry.get('w').state === 'critical', 3_000, 'critical');
    expect(f.registry.get('w').checks[0]?.output).toContain('500 Internal Server Error');
    expect(f.registry.get('w').checks[0]?.output).toContain('database down');
  });

  it('passes only on the expected status when one is given, and caps the body kept as output', async () => {
    const { f } = setup();
    const up = await server();
    up.status = 204;
    up.body = '';
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [
        {
          kind: 'http',
          url: `${up.url}/ready`,
          expectStatus: 202,
          timeoutMs: 1000,
          intervalMs: 30,
          failuresBeforeCritical: 1,
          initialStatus: 'passing',
        },
      ],
    });
    await waitFor(() => f.registry.get('w').state === 'critical', 3_000, 'critical on 204');
    up.status = 202;
    up.body = 'x'.repeat(10_000);
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', url: `${up.url}/ready`, expectStatus: 202, timeoutMs: 1000, intervalMs: 30, maxBodyBytes: 16 }],
    });
    await waitFor(() => f.registry.get('w').state === 'passing', 3_000, 'passing on 202');
    const output = f.registry.get('w').checks[0]?.output ?? '';
    expect(output.split('\n')[1]).toBe('x'.repeat(16));
    expect(up.requests.at(-1)?.url).toBe('/ready');
  });

  it('goes critical when the HTTP check times out', async () => {
    const { f } = setup();
    const up = await server();
    up.delayMs = 500;
    f.registry.register({
      name: 'slow',
      id: 's',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', intervalMs: 40, timeoutMs: 50, failuresBeforeCritical: 1, initialStatus: 'passing' }],
    });
    await waitFor(() => f.registry.get('s').state === 'critical', 3_000, 'critical');
    expect(f.registry.get('s').checks[0]?.output).toMatch(/no answer within 50 ms/);
  });

  it('passes a TCP check while the port accepts and fails it once the listener closes', async () => {
    const { f } = setup();
    const tcp = await tcpListener();
    f.registry.register({
      name: 'db',
      id: 'd',
      address: '127.0.0.1',
      port: tcp.port,
      checks: [{ kind: 'tcp', timeoutMs: 1000, intervalMs: 30, failuresBeforeCritical: 1 }],
    });
    await waitFor(() => f.registry.get('d').state === 'passing', 3_000, 'passing');
    expect(f.registry.get('d').checks[0]?.output).toMatch(/^TCP connect 127\.0\.0\.1:\d+: connected in \d+ ms$/);
    await tcp.close();
    await waitFor(() => f.registry.get('d').state === 'critical', 3_000, 'critical');
    expect(f.registry.get('d').checks[0]?.output).toContain('ECONNREFUSED');
  });

  it('damps flapping: a status changes only after N results in a row', async () => {
    const { f } = setup();
    const up = await server();
    const beforeCritical = 3;
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [
        { kind: 'http', timeoutMs: 1000, intervalMs: 25, jitter: 0, successBeforePassing: 2, failuresBeforeCritical: beforeCritical },
      ],
    });
    await waitFor(() => f.registry.get('w').state === 'passing', 3_000, 'passing');
    const passedAfter = up.requests.length;
    expect(passedAfter).toBeGreaterThanOrEqual(2);
    // Alternate 500 and 200: never three failures in a row, so the instance never goes critical.
    const changes: string[] = [];
    const off = f.bus.subscribe((m) => {
      if (m.event === 'service.health') changes.push(m.payload.state);
    });
    for (let i = 0; i < 8; i += 1) {
      up.status = i % 2 === 0 ? 500 : 200;
      const seen = up.requests.length;
      await waitFor(() => up.requests.length > seen, 2_000, 'a check');
    }
    expect(changes).toEqual([]);
    // Three failures in a row do it, and the count of requests shows it took three.
    up.status = 500;
    const firstFailure = up.requests.length;
    await waitFor(() => f.registry.get('w').state === 'critical', 3_000, 'critical');
    expect(up.requests.length - firstFailure).toBeGreaterThanOrEqual(beforeCritical);
    off();
  });

  it('expires a TTL check without heartbeats and passes it again on a heartbeat', async () => {
    const { f } = setup();
    f.registry.register({ name: 'worker', id: 'k', address: '127.0.0.1', port: 1, checks: [{ kind: 'ttl', ttlMs: 600 }] });
    expect(f.registry.get('k').state).toBe('critical');
    f.registry.heartbeat('k');
    expect(f.registry.get('k').state).toBe('passing');
    await sleep(300);
    const secondAt = Date.now();
    f.registry.heartbeat('k', 'passing', 'processed 12 jobs');
    expect(f.registry.get('k').checks[0]?.output).toBe('processed 12 jobs');
    await waitFor(() => f.registry.get('k').state === 'critical', 2_000, 'TTL expiry');
    // The second heartbeat restarted the TTL: without it the check would have expired 300 ms after it.
    expect(Date.now() - secondAt).toBeGreaterThanOrEqual(550);
    expect(f.registry.get('k').checks[0]?.output).toBe('TTL expired: no heartbeat for 600 ms');
    f.registry.heartbeat('k', 'warning', 'queue is long');
    expect(f.registry.get('k').state).toBe('warning');
  });

  it('deregisters an instance critical for longer than deregisterAfter, audited as the system', async () => {
    const { f } = setup(20);
    const up = await server();
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', timeoutMs: 1000, intervalMs: 25, failuresBeforeCritical: 1, deregisterAfterMs: 200 }],
    });
    await waitFor(() => f.registry.get('w').state === 'passing', 3_000, 'passing');
    await up.close();
    await waitFor(() => f.registry.get('w').state === 'critical', 3_000, 'critical');
    const criticalAt = Date.now();
    await waitFor(() => !f.registry.has('w'), 3_000, 'deregistration');
    expect(Date.now() - criticalAt).toBeGreaterThanOrEqual(150);
    const removed = f.events.find((e) => e.event === 'service.deregistered');
    expect(removed?.payload).toMatchObject({ id: 'w', reason: 'check http critical for more than 200 ms' });
    const [entry] = f.audit.list({ limit: 1 }).entries;
    expect(entry).toMatchObject({ actor: 'system', action: 'services.deregister', target: 'w', outcome: 'ok' });
  });

  it('spreads checks with jitter: intervals vary within ±jitter of the interval', async () => {
    const { f } = setup();
    const up = await server();
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', timeoutMs: 1000, intervalMs: 200, jitter: 0.5 }],
    });
    await waitFor(() => up.requests.length >= 12, 10_000, '12 checks');
    const gaps = up.requests.slice(1, 12).map((r, i) => r.at - (up.requests[i] as { at: number }).at);
    // Checks start no sooner than interval × (1 − jitter) = 100 ms apart; these are arrival times at
    // the server, so one check that took a little longer to arrive than the next shortens the gap
    // between them by that difference (seen: 94 ms on a loaded host). Late only when the machine
    // stalls a timer, so the median (not each gap) is held to the jittered range.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(80);
    const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)] as number;
    expect(median).toBeGreaterThanOrEqual(100);
    expect(median).toBeLessThanOrEqual(330);
    expect(new Set(gaps).size).toBeGreaterThan(2);
  });

  it('stops probing an instance once it is deregistered', async () => {
    const { f, checker } = setup();
    const up = await server();
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', timeoutMs: 1000, intervalMs: 20 }],
    });
    await waitFor(() => up.requests.length >= 2, 3_000, 'checks');
    f.registry.deregister('w');
    expect(checker.scheduledChecks).toBe(0);
    // Another instance on the same interval brackets the window: its checks show the checker going on.
    const marker = await server('marker');
    f.registry.register({
      name: 'marker',
      id: 'm',
      address: '127.0.0.1',
      port: marker.port,
      checks: [{ kind: 'http', timeoutMs: 1000, intervalMs: 20 }],
    });
    await waitFor(() => marker.requests.length >= 2, 3_000, 'marker checks'); // a check of w under way at deregister has landed
    const seen = up.requests.length;
    await waitFor(() => marker.requests.length >= 8, 3_000, 'six more marker checks');
    expect(up.requests.length).toBe(seen);
  });

  it('keeps the password of a check URL out of its output and out of the error for a bad one', async () => {
    const { f } = setup();
    const up = await server();
    f.registry.register({
      name: 'web',
      id: 'w',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'http', url: `http://probe:s3cret@127.0.0.1:${up.port}/health`, timeoutMs: 1000, intervalMs: 30 }],
    });
    await waitFor(() => f.registry.get('w').state === 'passing', 3_000, 'passing');
    expect(f.registry.get('w').checks[0]?.output).toMatch(/^HTTP GET http:\/\/probe:\*\*\*@127\.0\.0\.1:\d+\/health: 200 OK/);
    expect(() => resolveChecks([{ kind: 'http', url: 'http://probe:s3cret@127.0.0.1:99999999/' }], { address: '::1', port: 81 })).toThrow(
      expect.objectContaining({
        code: 'PH_DISCOVERY_CHECK_INVALID',
        message: 'The check URL "http://probe:***@127.0.0.1:99999999/" is not a URL',
      }),
    );
  });

  it('resolves default check targets from the instance address and port', () => {
    const [http, tcp] = resolveChecks([{ kind: 'http' }, { kind: 'tcp' }], { address: '::1', port: 81 });
    expect(http).toMatchObject({
      id: 'http',
      url: 'http://[::1]:81/health',
      intervalMs: 10_000,
      failuresBeforeCritical: 2,
      successBeforePassing: 1,
    });
    expect(tcp).toMatchObject({ id: 'tcp', host: '::1', port: 81 });
  });
});
