/* global process, setTimeout */
// A LAN program using the packed client, installed from its tarball (test/client/packed-client.test.ts).
import { NotFoundError, Pilothouse } from '@pilothouse/client';

const url = process.env.PH_URL;
const apiKey = process.env.PH_KEY;
const out = {};
const ph = new Pilothouse({ url, apiKey });
const other = new Pilothouse({ url, apiKey, auth: 'key', l1: false });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Discovery: register, let the heartbeats run.
const registration = await ph.discovery.register({ name: 'packed-svc', address: '127.0.0.1', port: 9999 }, { heartbeatMs: 100 });
out.registeredId = registration.instance.id;
await sleep(400);
out.lastHeartbeatAt = registration.instance.lastHeartbeatAt;
out.state = registration.instance.state;

// Jobs: enqueue and follow the progress.
const { job, progress } = await ph.jobs.enqueue({ type: 'test.count', payload: { steps: 4 } });
out.jobId = job.id;
out.progress = [];
for await (const p of progress) out.progress.push(p.progress);
out.jobEnd = (await progress.result).state;

// Cache: a write, a read kept in L1, another writer's write reaching L1 through the hub.
await ph.cache.set('packed', 'k', { v: 1 });
out.first = await ph.cache.get('packed', 'k');
out.l1AfterRead = ph.cache.l1Size;
await other.cache.set('packed', 'k', { v: 2 });
for (let i = 0; i < 100 && (await ph.cache.get('packed', 'k')).v !== 2; i += 1) await sleep(20);
out.afterOtherWrite = await ph.cache.get('packed', 'k');
out.missing = await ph.cache.get('packed', 'nothing-here');

// Errors carry the catalogue code, as typed classes.
try {
  await ph.call('jobs.get', { id: 'no-such-job' });
} catch (err) {
  out.error = { name: err.name, code: err.code, isNotFound: err instanceof NotFoundError };
}

// A room: subscribe, hear a message another client publishes.
const heard = new Promise((resolve) => ph.realtime.on('message', (m) => resolve(m.data)));
await ph.realtime.subscribe('packed-room');
await other.realtime.subscribe('packed-room');
await other.realtime.publish('packed-room', { hello: 'room' });
out.roomMessage = await heard;

await other.close();
await ph.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
