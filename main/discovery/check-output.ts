import type { EventMessage } from '../../contract/events';
import type { Role } from '../../contract/roles';
import type { Instance } from './types';

const HIDDEN = 'details visible to operators';

/**
 * What a viewer sees of a check's output: the status code and timing, never what the target
 * answered (a health URL may return anything, and a check pointed at an internal page would
 * otherwise hand its body to every viewer). Built from the runners' own first-line formats.
 */
export function checkSummary(output: string): string {
  const first = output.split('\n', 1)[0] ?? '';
  const http = /^HTTP (?:GET|HEAD) \S+: (\d{3}) .*\bin (\d+) ms$/.exec(first);
  if (http !== null) return `HTTP ${http[1]} in ${http[2]} ms`;
  const tcp = /^TCP connect \S+: connected in (\d+) ms$/.exec(first);
  if (tcp !== null) return `connected in ${tcp[1]} ms`;
  const timeout = /: no answer within (\d+) ms$/.exec(first);
  if (timeout !== null) return `no answer within ${timeout[1]} ms`;
  if (/^(?:HTTP (?:GET|HEAD)|TCP connect) \S+: /.test(first)) return 'no connection';
  if (/^(?:Heartbeat: (?:passing|warning|critical)|TTL expired: no heartbeat for \d+ ms|Not checked yet)$/.test(first)) return first;
  return HIDDEN;
}

/** An instance as a caller of `role` may see it: viewers get each check's summary only. */
export function instanceFor(role: Role, instance: Instance): Instance {
  if (role !== 'viewer') return instance;
  return {
    ...instance,
    checks: instance.checks.map((check) => ({
      ...check,
      output: checkSummary(check.output),
      ...(check.history === undefined ? {} : { history: check.history.map((h) => ({ ...h, output: checkSummary(h.output) })) }),
    })),
  };
}

/**
 * Registry events go to every console, viewers included, so they carry summaries; a console that
 * wants the full output asks `services.get`, which answers by the caller's role.
 */
export function summarizedEvent(message: EventMessage): EventMessage {
  if (message.event === 'service.registered') return { event: message.event, payload: instanceFor('viewer', message.payload) };
  if (message.event === 'service.health' && message.payload.check !== null) {
    const check = { ...message.payload.check, output: checkSummary(message.payload.check.output) };
    return { event: message.event, payload: { ...message.payload, check } };
  }
  return message;
}
