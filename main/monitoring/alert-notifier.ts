import type { EventBus } from '../events';

/**
 * Turns firing (and resolved) alerts on the bus into notifications. The desktop shell passes
 * `(title, body) => new Notification({ title, body }).show()` (Electron); anything else can pass its
 * own. Pending alerts do not notify: they may clear before their for-duration passes; nor do alerts
 * an operator silenced (monitoring.alerts.silence).
 */
export function notifyAlerts(bus: EventBus, show: (title: string, body: string) => void): () => void {
  return bus.subscribe((message) => {
    if (message.event !== 'monitoring.alert') return;
    const alert = message.payload;
    if (silencedWhenSent(alert)) return;
    if (alert.state === 'firing') show(`${alert.severity === 'critical' ? 'Critical' : 'Alert'}: ${alert.name}`, alert.message);
    else if (alert.state === 'resolved') show(`Resolved: ${alert.name}`, alert.message);
  });
}

/** An alert whose rule was silenced at the moment it changed state: its notifications are held back. */
export function silencedWhenSent(alert: { since: string; silencedUntil?: string | null }): boolean {
  return alert.silencedUntil !== undefined && alert.silencedUntil !== null && Date.parse(alert.silencedUntil) > Date.parse(alert.since);
}
