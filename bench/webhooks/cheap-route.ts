/** What `ratelimit.overhead` loads: on a Pilothouse node, a small cached value an operator key reads (cache.get, an L1 hit). */
export const CHEAP_NAMESPACE = 'bench';
export const CHEAP_KEY = 'status';
export const CHEAP_PATH = `/api/v2/cache/${CHEAP_NAMESPACE}/${CHEAP_KEY}`;

/** The value both servers answer with: the node's cached one, and the bare Fastify route's body. */
export const BENCH_VALUE = { ok: true, version: '0.1.0', services: ['store', 'http', 'monitoring'], at: new Date(0).toISOString() };

/** The fleet secret of the bench's nodes on its private redis-server (a node on Redis must have one). */
export const BENCH_FLEET_SECRET = 'bench-fleet-secret-on-a-private-redis-0123456789';
