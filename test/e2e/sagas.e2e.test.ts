import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, openView, signIn, type ConsoleSession } from './harness';

describe('Sagas view in Chromium', () => {
  let session: ConsoleSession;
  let failedId: string;

  beforeAll(async () => {
    session = await openConsole();
    // Two steps that succeed, then a third whose remote end refuses twice: the two are compensated.
    session.plane.plane.running.sagas.register({
      type: 'demo.provision',
      description: 'Reserve an address, create a VM, register DNS',
      steps: [
        { name: 'reserve-ip', action: () => '10.0.0.7', compensate: () => undefined },
        { name: 'create-vm', action: () => 'vm-1', compensate: () => undefined },
        {
          name: 'register-dns',
          retry: { attempts: 2, backoffMs: 50 },
          action: () => {
            throw new Error('dns server answered SERVFAIL');
          },
        },
      ],
    });
    failedId = (await session.plane.op('sagas.start', { type: 'demo.provision', input: { host: 'web-1' } })).body.saga.id;
  });
  afterAll(async () => {
    await session?.close();
  });

  it("lists sagas and shows a failed one's steps as a timeline with state, tries and errors", async () => {
    const { page } = session;
    await signIn(session);
    await openView(session, 'Sagas');
    const row = page.getByTestId(`saga-${failedId}`);
    await row.getByText('compensated').waitFor();
    await row.getByRole('button').click();
    const detail = page.getByTestId('saga-detail');
    await detail.getByText('register-dns: dns server answered SERVFAIL').waitFor();
    const dns = page.getByTestId('saga-step-register-dns');
    expect(await dns.getByText('failed').count()).toBe(1);
    expect(await dns.getByText('2 tries').count()).toBe(1);
    expect(await dns.locator('li').count()).toBe(2);
    for (const step of ['reserve-ip', 'create-vm']) {
      const item = page.getByTestId(`saga-step-${step}`);
      await item.getByText('compensated', { exact: true }).waitFor();
      expect(await item.getByText(/1 compensation try/).count()).toBe(1);
    }
    await session.screenshot('sagas');
  });
});
