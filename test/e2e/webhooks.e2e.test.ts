import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, verifyAsDocumented, type Receiver } from '../webhooks/receiver';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

/** Operations a page called, by name, from the moment this is set up. */
function callsOf(page: Page): string[] {
  const calls: string[] = [];
  page.on('request', (request) => {
    const name = /\/api\/v2\/ops\/([\w.]+)/.exec(request.url())?.[1];
    if (name !== undefined) calls.push(name);
  });
  return calls;
}

describe('Webhooks view in Chromium against a headless node', () => {
  let session: ConsoleSession;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await startReceiver();
    session = await openConsole();
    await signIn(session);
  });
  afterAll(async () => {
    await session?.close();
    await rx?.close();
  });

  it('registers an endpoint, shows its secret once, and a test ping arrives signed with it and shows as delivered', async () => {
    const { page } = session;
    await openView(session, 'Webhooks');
    await page.getByLabel('URL').fill(rx.url);
    await page.getByLabel('webhook.ping').check();
    await page.getByRole('button', { name: 'Register' }).click();
    const secret = (await page.getByTestId('webhook-secret').locator('code').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'I have copied it' }).click();

    const row = page.getByTestId(`endpoint-${rx.url}`);
    await row.getByText('enabled').waitFor();
    await row.getByRole('button', { name: 'Test ping' }).click();
    await page.getByTestId('delivery-webhook.ping').getByText('delivered').waitFor({ timeout: 10_000 });
    expect(rx.received).toHaveLength(1);
    expect(verifyAsDocumented(secret, rx.received[0]!.headers, rx.received[0]!.body)).toBe(true);
    await session.screenshot('webhooks');
  });

  it('rotates the secret (the new one verifies the next delivery) and redelivers under the same webhook-id', async () => {
    const { page } = session;
    const row = page.getByTestId(`endpoint-${rx.url}`);
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = (await page.getByTestId('webhook-secret').locator('code').textContent()) ?? '';
    expect(rotated).toMatch(/^whsec_/);
    await expect.poll(() => row.locator('td').nth(3).textContent(), { timeout: 10_000 }).toBe('2');

    await page.getByTestId('delivery-webhook.ping').getByRole('button', { name: 'Redeliver' }).first().click();
    await expect.poll(() => rx.received.length, { timeout: 10_000 }).toBe(2);
    const [first, again] = rx.received;
    expect(again!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(verifyAsDocumented(rotated, again!.headers, again!.body)).toBe(true);
    await expect.poll(() => page.getByTestId('webhook-deliveries').getByText('delivered').count(), { timeout: 10_000 }).toBe(2);
  });

  it('shows each key with its tier on Security and moves a key to another tier', async () => {
    const { page } = session;
    await session.plane.op('keys.create', { name: 'e2e-partner', role: 'operator' });
    await openView(session, 'Security');
    const row = page.getByTestId('key-tier-e2e-partner');
    await expect.poll(() => row.getByLabel('Tier of e2e-partner').inputValue(), { timeout: 10_000 }).toBe('premium');
    await row.getByLabel('Tier of e2e-partner').selectOption('basic');
    await expect
      .poll(
        async () => {
          const tiers = (await session.plane.op('ratelimit.tiers')).body as { keys: { name: string; tier: string }[] };
          return tiers.keys.find((k) => k.name === 'e2e-partner')?.tier;
        },
        { timeout: 10_000 },
      )
      .toBe('basic');
    await session.screenshot('security-tiers');
  });

  it('adds a tier, edits it from its row, deletes it once confirmed, and offers no edit of the unlimited tier', async () => {
    const { page } = session;
    await openView(session, 'Security');
    const form = page.getByRole('form', { name: 'Tier' });
    await form.getByLabel('Tier', { exact: true }).fill('partners');
    await form.getByLabel('Requests', { exact: true }).fill('700');
    await form.getByRole('button', { name: 'Add tier' }).click();
    const row = page.getByTestId('tier-partners');
    await expect.poll(() => row.locator('td').nth(1).textContent(), { timeout: 10_000 }).toBe('700');

    await row.getByRole('button', { name: 'Edit' }).click();
    expect(await form.getByLabel('Tier', { exact: true }).inputValue()).toBe('partners');
    await form.getByLabel('Requests', { exact: true }).fill('900');
    await form.getByLabel('Burst', { exact: true }).fill('50');
    await form.getByRole('button', { name: 'Save partners' }).click();
    await expect.poll(() => row.locator('td').nth(1).textContent(), { timeout: 10_000 }).toBe('900');
    expect(await row.locator('td').nth(3).textContent()).toBe('50');
    expect(await page.getByTestId('tier-unlimited').getByRole('button').count()).toBe(0);
    expect(await page.getByTestId('tier-free').getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await session.screenshot('security-tiers-edit');

    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete tier' }).click();
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    const tiers = (await session.plane.op('ratelimit.tiers')).body as { tiers: { name: string }[] };
    expect(tiers.tiers.map((t) => t.name)).not.toContain('partners');
  });

  it("refuses a Requests that is not a whole number in the contract's range next to the field, without sending, and saves an empty one as no limit", async () => {
    const { page, plane } = session;
    const consoleErrors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    const calls = callsOf(page);
    await openView(session, 'Security');
    const form = page.getByRole('form', { name: 'Tier' });
    const name = form.getByLabel('Tier', { exact: true });
    await name.fill('Not A Name');
    // The pattern is valid under the v flag, so the browser applies it rather than ignoring it.
    expect(await name.evaluate((el) => (el as unknown as { validity: { patternMismatch: boolean } }).validity.patternMismatch)).toBe(true);
    await name.fill('typo');
    const requests = form.getByLabel('Requests', { exact: true });
    const problem = page.getByTestId('tier-limit-problem');
    for (const wrong of ['ten', '0', '-5', '1e15']) {
      await requests.fill(wrong);
      await form.getByRole('button', { name: 'Add tier' }).click();
      await problem.getByText('Requests must be a whole number from 1 to 10,000,000, or empty for no limit.').waitFor();
      expect(await requests.getAttribute('aria-invalid')).toBe('true');
    }
    expect(calls).not.toContain('ratelimit.tiers.save');

    await requests.fill('');
    expect(await problem.count()).toBe(0);
    await form.getByRole('button', { name: 'Add tier' }).click();
    await page.getByTestId('tiers-result').getByText('Saved tier typo: no limit.').waitFor();
    const tiers = (await plane.op('ratelimit.tiers')).body as { tiers: { name: string; limit: number | null }[] };
    expect(tiers.tiers.find((t) => t.name === 'typo')?.limit).toBeNull();

    await page.getByTestId('key-tier-e2e-partner').getByLabel('Tier of e2e-partner').selectOption('typo');
    await page.getByTestId('key-tiers-result').getByText('Moved e2e-partner to the typo tier.').waitFor();
    expect(consoleErrors.filter((text) => /pattern|regular expression/i.test(text))).toEqual([]);
  });

  it('shows an operator the tiers read-only, calling no admin operation, and a viewer only a card on Security, Audit and Webhooks, calling nothing', async () => {
    const { plane } = session;
    const signInTab = async (role: 'operator' | 'viewer') => {
      const key = await plane.op('keys.create', { name: `e2e-${role}`, role });
      // A tab of its own: its own session, the admin's tab stays signed in.
      const page = await session.context.newPage();
      const calls = callsOf(page);
      await page.goto(`${plane.url}/`);
      await page.getByLabel('API key').fill(key.body.secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Views' }).waitFor();
      const open = async (label: string) => {
        await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: label, exact: true }).click();
        await page.getByRole('heading', { level: 1, name: label }).waitFor();
      };
      return { page, calls, open };
    };

    const operator = await signInTab('operator');
    try {
      await operator.open('Security');
      await operator.page.getByTestId('tier-unlimited').waitFor();
      await operator.page.getByTestId('key-tier-e2e-partner').getByText('typo').waitFor();
      expect(await operator.page.getByTestId('key-tiers').locator('select').count()).toBe(0);
      expect(await operator.page.getByRole('form', { name: 'Tier' }).count()).toBe(0);
      expect(await operator.page.getByTestId('tiers').getByRole('button').count()).toBe(0);
      expect(await operator.page.getByRole('alert').count()).toBe(0);
      expect(operator.calls).not.toContain('keys.list');
    } finally {
      await operator.page.close();
    }

    const viewer = await signInTab('viewer');
    try {
      for (const label of ['Security', 'Audit', 'Webhooks']) {
        const before = viewer.calls.length;
        await viewer.open(label);
        await viewer.page.getByRole('heading', { level: 3, name: 'Operators and admins only' }).waitFor();
        expect(await viewer.page.getByRole('alert').count()).toBe(0);
        expect(await viewer.page.getByLabel('Audit actor').count()).toBe(0);
        // Only what these views would read: the Overview left behind may still be polling its charts.
        expect(viewer.calls.slice(before).filter((name) => /^(keys|ratelimit|audit|webhooks|system\.config)/.test(name))).toEqual([]);
      }
    } finally {
      await viewer.page.close();
    }
  });
});
