import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

/**
 * Child process for the discovery bench: the second baseline of `discovery.gateway`, a plain
 * @fastify/reply-from proxy as its README sets one up, round-robin over the upstream ports given as
 * arguments, with the gateway's pool settings (keep-alive, 64 connections an upstream) and no
 * authentication, forwarding headers or stats. Prints `{url}`, then serves until killed.
 */
const ports = process.argv.slice(2).map(Number);
const app = Fastify({ logger: false });
let next = 0;

void (async () => {
  await app.register(replyFrom, {
    disableRequestLogging: true,
    undici: { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 },
  });
  app.all('/*', (request, reply) => {
    const port = ports[next % ports.length] as number;
    next += 1;
    void reply.from(`http://127.0.0.1:${port}${request.url}`);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
})();
