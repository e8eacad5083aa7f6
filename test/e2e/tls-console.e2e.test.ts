import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, signIn, type ConsoleSession } from './harness';

/**
 * The console over HTTPS and WSS with the node's self-signed certificate: it signs in, goes live on
 * the secure socket, and shows the certificate's fingerprint on Overview for the operator to compare.
 */
describe('the console on a node that speaks TLS', () => {
  let session: ConsoleSession;
  beforeAll(async () => {
    session = await openConsole({ tlsSelfSigned: true }, { ignoreHTTPSErrors: true });
  });
  afterAll(async () => session.close());

  it('signs in over HTTPS, goes live over WSS and shows the certificate fingerprint on Overview', async () => {
    expect(session.plane.url).toMatch(/^https:/);
    await signIn(session);
    const fingerprint = session.plane.plane.tls?.fingerprint256 ?? '';
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await session.page.getByTestId('tls-fingerprint').getByText(fingerprint).waitFor();
    await session.page.getByText('HTTPS / WSS').waitFor();
  });
});
