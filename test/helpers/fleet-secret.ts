import { FleetSeal } from '../../main/fleet';

/** The fleet secret every test node on one Redis shares (a real deployment makes its own). */
export const TEST_FLEET_SECRET = 'test-fleet-secret-0123456789abcdef-never-in-production';

/** `{ fleetSecret }` when the config names a Redis: what every node on Redis must have. */
export function fleetSecretFor(config: { redisUrl?: string; redisSentinels?: string }): { fleetSecret?: string } {
  return config.redisUrl === undefined && config.redisSentinels === undefined ? {} : { fleetSecret: TEST_FLEET_SECRET };
}

/** A seal with the test secret, for services built without a control plane. */
export function testSeal(nodeId: string, secret = TEST_FLEET_SECRET): FleetSeal {
  return new FleetSeal({ secret, nodeId, clock: { now: () => Date.now() } });
}
