import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, type ConsoleSession } from './harness';

/**
 * Clickjacking: a page on another origin puts the console in a frame and overlays its own
 * buttons. Chromium must refuse to render the console there (CSP frame-ancestors 'none', and
 * X-Frame-Options DENY for older engines), while the same console opens normally at the top.
 */
describe('the console in a foreign frame', () => {
  let session: ConsoleSession;
  let attacker: Server;
  let attackerUrl = '';
  beforeAll(async () => {
    session = await openConsole();
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<!doctype html><title>Win a prize</title><iframe id="victim" src="${session.plane.url}/" width="800" height="600"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://localhost:${(attacker.address() as { port: number }).port}/`;
  });
  afterAll(async () => {
    await session.close();
    attacker.closeAllConnections();
    await new Promise((r) => attacker.close(r));
  });

  it('is not rendered inside another origin, and loads at the top level', async () => {
    const { page } = session;
    const blocked = page.waitForEvent('console', {
      predicate: (m) => /frame-ancestors|X-Frame-Options|refused to (display|frame)/i.test(m.text()),
    });
    await page.goto(attackerUrl);
    await blocked;
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame).toBeDefined();
    // A blocked frame shows Chromium's error page, never the console's sign-in form.
    expect(frame!.url()).not.toBe(`${session.plane.url}/`);
    expect(await frame!.locator('input').count()).toBe(0);

    await page.goto(`${session.plane.url}/`);
    await page.getByLabel('API key').waitFor();
  });
});
