import { useEffect, useState } from 'react';
import type { EventPayload } from '../../../contract/events';
import { useEvent, useOperation } from '../client/client-context';
import { Card, ErrorBanner, PageHeader, Stat, StatusBadge, formatDuration } from '../components/ui';

type Status = EventPayload<'system.status'>;

export function OverviewView() {
  const initial = useOperation('system.status', {});
  const [status, setStatus] = useState<Status | undefined>();
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (initial.data !== undefined) setStatus(initial.data);
  }, [initial.data]);
  useEvent('system.status', setStatus);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const uptime = status === undefined ? 0 : Math.max(0, (now - Date.parse(status.startedAt)) / 1000);
  const unhealthy = status?.services.filter((s) => s.state !== 'running') ?? [];

  return (
    <>
      <PageHeader title="Overview" subtitle="Is everything well, and if not, what and since when." />
      <ErrorBanner error={initial.error} />
      {status !== undefined && (
        <>
          <div className="stats">
            <Stat label="Services" value={`${status.services.length - unhealthy.length}/${status.services.length} running`} tone={unhealthy.length === 0 ? 'ok' : 'warn'} />
            <Stat label="Uptime" value={formatDuration(uptime)} />
            <Stat label="Version" value={status.version} />
            <Stat
              label="Redis"
              value={!status.redis.configured ? 'not configured' : status.redis.connected ? 'connected' : 'disconnected'}
              tone={!status.redis.configured ? undefined : status.redis.connected ? 'ok' : 'bad'}
            />
          </div>
          <Card title="Services">
            <table className="table" data-testid="services-table">
              <thead>
                <tr>
                  <th>Service</th>
                  <th>State</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                {status.services.map((service) => (
                  <tr key={service.name}>
                    <td className="mono">{service.name}</td>
                    <td>
                      <StatusBadge state={service.state} />
                    </td>
                    <td className="muted">{service.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          <p className="muted small">
            Running {status.mode}, started {new Date(status.startedAt).toLocaleString()}.
          </p>
        </>
      )}
    </>
  );
}
