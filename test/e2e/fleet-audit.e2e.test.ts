import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe("the console's Audit view in a fleet: one trail, every node's rows", () => {
  let redis: TestRedis;
  let session: ConsoleSession;
  let other: TestPlane;

  beforeAll(async () => {
    redis = await startRedis();
    session = await openConsole({ redisUrl: redis.url });
    other = await startTestPlane({ redisUrl: redis.url });
    await signIn(session);
  }, 60_000);
  afterAll(async () => {
    await session?.close();
    await other?.stop();
    await redis?.stop();
  });

  it("lists a key created on another node, names that node, and filters the fleet's rows by action", async () => {
    const { page, plane } = session;
    const created = await other.op('keys.create', { name: 'made-elsewhere', role: 'viewer' });
    expect(created.status).toBe(200);
    const otherNode = other.plane.nodeId;
    expect(otherNode).not.toBe(plane.plane.nodeId);
    await until(
      async () =>
        (await plane.op('audit.list', { fleet: true, action: 'keys.create' })).body.entries.some(
          (e: { node?: string }) => e.node === otherNode,
        ),
      10_000,
      "the other node's row on this node",
    );
    await openView(session, 'Audit');
    await page.getByLabel('Audit action').fill('keys.create');
    const table = page.getByTestId('audit-table');
    const row = table.locator('tbody tr', { hasText: 'made-elsewhere' }).or(table.locator('tbody tr', { hasText: created.body.key.id }));
    await row.first().getByText(otherNode, { exact: true }).waitFor();
    const actions = await table.locator('tbody tr:not([aria-hidden]) td:nth-child(5)').allTextContents();
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['keys.create']));
    expect(await table.locator('thead th').first().textContent()).toBe('Node');

    // Filters that match nothing say so, and how to see the trail again, instead of an empty table.
    await page.getByLabel('Audit action').fill('no.such.action');
    await page.getByTestId('audit-none').getByText('Clear Who, Action or Target').waitFor();
    await page.getByTestId('audit-count').getByText('0 matching entries').waitFor();
  });
});
