/**
 * The checks a merged config passes before anything uses it: the schema's, then the ones it cannot
 * express (settings that go together, loopback unless LAN access is on, the fleet secret with Redis).
 * Each failure is `PH_CONFIG_INVALID` with the setting's name.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { PhError } from '../../contract';
import { retentionProblem } from '../retention-config';
import { ConfigSchema, HOST_NAME, type Config, type ConfigLayer } from './schema';

const SECRET_FIELDS = new Set(['fleetSecret', 'redisUrl']);

export function validate(candidate: ConfigLayer): Config {
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first !== undefined) {
    const field = first.path.replace(/^\//, '').replaceAll('/', '.') || 'config';
    // A secret is never echoed back, not even a wrong one (it may be the right one mistyped).
    const got = SECRET_FIELDS.has(field) ? '' : ` (got ${JSON.stringify(first.value)})`;
    throw new PhError('PH_CONFIG_INVALID', `Setting "${field}" ${first.message.toLowerCase()}${got}`, { field });
  }
  const config = candidate as Config;
  if (!config.lanAccess && !isLoopback(config.host)) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      `Host ${config.host} is reachable from the LAN; turn LAN access on (--lan or PILOTHOUSE_LAN_ACCESS=true) to bind it`,
      { field: 'host' },
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    const field = config.tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    throw new PhError('PH_CONFIG_INVALID', 'Setting "tlsCert" and "tlsKey" go together: give both or neither', { field });
  }
  for (const [index, root] of (config.backup?.roots ?? []).entries()) {
    if (!isAbsolute(root))
      throw new PhError('PH_CONFIG_INVALID', `Setting "backup.roots.${index}" must be an absolute path (got ${JSON.stringify(root)})`, {
        field: `backup.roots.${index}`,
      });
  }
  for (const [index, target] of (config.discovery?.allowedTargets ?? []).entries()) {
    if (!isTargetRule(target))
      throw new PhError(
        'PH_CONFIG_INVALID',
        `Setting "discovery.allowedTargets.${index}" must be a CIDR, an address or a host name (got ${JSON.stringify(target)})`,
        { field: `discovery.allowedTargets.${index}` },
      );
  }
  if (isFleet(config) && config.fleetSecret === undefined) {
    throw new PhError(
      'PH_CONFIG_INVALID',
      'Setting "fleetSecret" is required with Redis: every node signs what it writes there. Give the same secret (32 characters or more) to every node in PILOTHOUSE_FLEET_SECRET, --fleet-secret-file or "fleetSecret" in the config file',
      { field: 'fleetSecret' },
    );
  }
  const retention = retentionProblem(config.retention);
  if (retention !== null)
    throw new PhError('PH_CONFIG_INVALID', `Setting "${retention.field}" ${retention.message}`, { field: retention.field });
  if (config.redisSentinels !== undefined && config.redisSentinelName === undefined) {
    throw new PhError('PH_CONFIG_INVALID', 'Setting "redisSentinelName" is required with redisSentinels (the master name they watch)', {
      field: 'redisSentinelName',
    });
  }
  return config;
}

/** A CIDR (`10.0.0.0/8`, `fd00::/8`), one address, or a host name. */
function isTargetRule(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (bits === undefined) return family !== 0 || new RegExp(HOST_NAME).test(address);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** True when the node shares state with others through Redis (a URL or Sentinels). */
export function isFleet(config: Config): boolean {
  return config.redisUrl !== undefined || config.redisSentinels !== undefined;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
