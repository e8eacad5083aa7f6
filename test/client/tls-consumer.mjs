/* global process */
// A LAN program on a node with a self-signed certificate, trusting it as docs/client.md says:
// NODE_EXTRA_CA_CERTS names the node's tls/cert.pem (test/client/packed-client.test.ts).
import { Pilothouse } from '@pilothouse/client';

const url = process.env.PH_URL;
const apiKey = process.env.PH_KEY;
const ph = new Pilothouse({ url, apiKey });
const other = new Pilothouse({ url, apiKey, auth: 'key', l1: false });
try {
  const status = await ph.call('system.status', {});
  const heard = new Promise((resolve) => ph.realtime.on('message', (m) => resolve(m.data)));
  await ph.realtime.subscribe('tls-room');
  await other.realtime.subscribe('tls-room');
  await other.realtime.publish('tls-room', { over: 'wss' });
  process.stdout.write(`${JSON.stringify({ tls: status.tls, message: await heard })}\n`);
} finally {
  await other.close();
  await ph.close();
}
