import { PhError } from '../../contract/errors';
import { redactUrl } from '../security';
import { checkDefaults } from './defaults';
import type { CheckDefinition, ResolvedCheck } from './types';

/**
 * Fills a check's defaults from the instance it belongs to (a TTL check without ttlMs waits
 * checkDefaults.ttlMs, as docs/discovery.md says), and refuses definitions that cannot run (two
 * checks with one id, a check URL that does not parse). Pure: the registry stores the input as
 * given and resolves it again on load, so changing a default changes every check that left it out.
 */
export function resolveChecks(defs: readonly CheckDefinition[], instance: { address: string; port: number }): ResolvedCheck[] {
  const seen = new Set<string>();
  return defs.map((def, index) => {
    const id = def.id ?? (defs.filter((d) => d.kind === def.kind).length > 1 ? `${def.kind}-${index + 1}` : def.kind);
    if (seen.has(id))
      throw new PhError('PH_DISCOVERY_CHECK_INVALID', `Two checks share the id ${JSON.stringify(id)}`, { field: `checks.${index}.id` });
    seen.add(id);
    const host = def.host ?? instance.address;
    const url =
      def.kind === 'http' ? (def.url ?? `http://${hostForUrl(host)}:${def.port ?? instance.port}${checkDefaults.httpPath}`) : null;
    if (url !== null) {
      try {
        new URL(url);
      } catch {
        throw new PhError('PH_DISCOVERY_CHECK_INVALID', `The check URL ${JSON.stringify(redactUrl(url))} is not a URL`, {
          field: `checks.${index}.url`,
        });
      }
    }
    const ttlMs = def.ttlMs ?? checkDefaults.ttlMs;
    return {
      id,
      kind: def.kind,
      url,
      method: def.method ?? 'GET',
      expectStatus: def.expectStatus ?? null,
      maxBodyBytes: def.maxBodyBytes ?? checkDefaults.maxBodyBytes,
      host,
      port: def.port ?? instance.port,
      ttlMs,
      intervalMs: def.kind === 'ttl' ? ttlMs : (def.intervalMs ?? checkDefaults.intervalMs),
      timeoutMs: def.timeoutMs ?? Math.min(checkDefaults.timeoutMs, def.intervalMs ?? checkDefaults.timeoutMs),
      jitter: def.jitter ?? checkDefaults.jitter,
      successBeforePassing: def.successBeforePassing ?? checkDefaults.successBeforePassing,
      failuresBeforeCritical: def.failuresBeforeCritical ?? checkDefaults.failuresBeforeCritical,
      deregisterAfterMs: def.deregisterAfterMs ?? null,
      initialStatus: def.initialStatus ?? checkDefaults.initialStatus,
    };
  });
}

/** What the check probes, for people. */
export function describeTarget(check: ResolvedCheck): string {
  if (check.kind === 'http') return `${check.method} ${redactUrl(check.url ?? '')}`;
  if (check.kind === 'tcp') return `TCP ${hostForUrl(check.host)}:${check.port}`;
  return `heartbeat within ${check.ttlMs} ms`;
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The same check, as far as its state goes: re-registering an unchanged check keeps its status. */
export function sameCheck(a: ResolvedCheck, b: ResolvedCheck): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
