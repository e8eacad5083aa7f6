/** The Overview's one-word health: the worst of what it knows, each reason said. */
export type Health = 'ok' | 'degraded' | 'down' | 'unknown';

export interface HealthInputs {
  /** monitoring.overview's status (dependencies: down when a critical one is down); undefined while unknown. */
  readonly dependencies: 'ok' | 'degraded' | 'down' | undefined;
  /** Every dependency with its status, to name the ones not up. */
  readonly dependencyList: readonly { name: string; status: string }[];
  readonly firingAlerts: readonly { name: string; severity: 'info' | 'warning' | 'critical' }[];
  /** This node's own services (system.status): a degraded or failed one is named, not summed into "all well". */
  readonly services: readonly { name: string; state: string; detail?: string | undefined }[];
  /** Registry instances by health, summed over services; undefined when the registry did not answer. */
  readonly instances: { passing: number; warning: number; critical: number } | undefined;
  /** Codes of the requests behind this summary that failed: an unknown part is not a healthy one. */
  readonly failures: readonly string[];
}

const rank: Record<Health, number> = { ok: 0, unknown: 1, degraded: 2, down: 3 };

/**
 * Worst of the dependencies, the firing alerts (critical or warning: degraded), this node's services
 * (degraded or failed: degraded) and the registry's instances (any critical: degraded). Only the
 * node's own status says `down`: /readyz stays 200 while a critical alert fires (Redis lost for
 * 30 s), so calling that "down" would contradict the node. A source that did not answer makes the
 * summary at best `unknown`, never `ok`: a green "all well" over missing data is what the console
 * must not show.
 */
export function healthSummary(inputs: HealthInputs): { health: Health; reasons: string[] } {
  let health: Health = 'ok';
  const reasons: string[] = [];
  const worsen = (to: Health, reason: string) => {
    if (rank[to] > rank[health]) health = to;
    reasons.push(reason);
  };
  if (inputs.dependencies === undefined) worsen('unknown', 'dependency health not known yet');
  for (const d of inputs.dependencyList) {
    if (d.status === 'down') worsen(inputs.dependencies === 'down' ? 'down' : 'degraded', `${d.name} is down`);
    else if (d.status === 'degraded') worsen('degraded', `${d.name} is degraded`);
  }
  for (const a of inputs.firingAlerts) {
    if (a.severity === 'critical') worsen(inputs.dependencies === 'down' ? 'down' : 'degraded', `${a.name} is firing (critical)`);
    else if (a.severity === 'warning') worsen('degraded', `${a.name} is firing`);
  }
  for (const s of inputs.services) {
    if (s.state === 'degraded' || s.state === 'failed')
      worsen('degraded', `${s.name} is ${s.state}${s.detail === undefined || s.detail === '' ? '' : ` (${s.detail})`}`);
  }
  if (inputs.instances !== undefined) {
    if (inputs.instances.critical > 0) worsen('degraded', `${inputs.instances.critical} service instance(s) critical`);
    else if (inputs.instances.warning > 0) worsen('degraded', `${inputs.instances.warning} service instance(s) warning`);
  }
  // A rate limit refused the read: the source may be fine, so say what happened, not that it is silent.
  for (const code of inputs.failures)
    worsen('unknown', code === 'PH_RATE_LIMITED' ? 'a source was not read: rate limited' : `a source did not answer (${code})`);
  return { health, reasons };
}
