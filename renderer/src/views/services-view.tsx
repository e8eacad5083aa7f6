import { Fragment, useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useOperation, useSession } from '../client/client-context';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, PageHeader, SourceDown, Stat, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';
import { HealthBar, InstanceDetail, TrafficCell, TrafficChart, healthOrder } from './services-parts';
import { RegisterDialog } from './services-register';

type Instance = OperationResult<'services.list'>['instances'][number];
type Summary = OperationResult<'services.summary'>['services'][number];
type HealthState = Instance['state'];
type Strategy = Summary['policy']['strategy'];

const strategies: readonly Strategy[] = ['round-robin', 'weighted', 'least-requests', 'random', 'consistent-hash'];
const registryEvents = ['service.registered', 'service.health', 'service.deregistered'] as const;

/**
 * The service registry: each service with its instances counted by health, a filter by state, tag
 * and version range, every instance's checks (status, output, history), gateway traffic and
 * ejections, and the LAN services found over mDNS with an Adopt action.
 */
export function ServicesView() {
  const { role } = useSession();
  const canChange = role !== 'viewer';
  const [state, setState] = useState<HealthState | ''>('');
  const [tag, setTag] = useState('');
  const [versionRange, setVersionRange] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  // The register/edit dialog: null closed, 'new' to register, or the instance being edited.
  const [editing, setEditing] = useState<Instance | 'new' | null>(null);
  const { dialog, confirm } = useConfirm();

  const filter = {
    ...(state === '' ? {} : { state }),
    ...(tag.trim() === '' ? {} : { tag: tag.trim() }),
    ...(versionRange.trim() === '' ? {} : { versionRange: versionRange.trim() }),
  };
  const summary = useOperation('services.summary', filter, { refreshOn: registryEvents });
  const list = useOperation('services.list', { ...filter, order: 'health' }, { refreshOn: registryEvents });
  const traffic = useOperation('services.traffic', {}, { refreshOn: registryEvents, intervalMs: 2_000 });
  const discovered = useOperation('services.discovered', {}, { intervalMs: 5_000 });
  const maintenance = useAction('services.maintenance');
  const deregister = useAction('services.deregister');
  const configure = useAction('services.configure');
  const adopt = useAction('services.adopt');

  const trafficById = new Map((traffic.data?.instances ?? []).map((t) => [t.id, t]));
  const services = summary.data?.services ?? [];
  const instances = list.data?.instances ?? [];
  const totals = services.reduce(
    (acc, s) => {
      for (const h of healthOrder) acc[h] += s.counts[h];
      acc.all += s.instances;
      return acc;
    },
    { passing: 0, warning: 0, critical: 0, maintenance: 0, all: 0 },
  );
  const actionError = maintenance.error ?? deregister.error ?? configure.error ?? adopt.error;
  const refreshAll = () => {
    summary.reload();
    list.reload();
    traffic.reload();
  };

  return (
    <>
      <PageHeader
        title="Services"
        subtitle="LAN programs registered with Pilothouse: their health checks, balancing and gateway traffic."
        actions={
          canChange ? (
            <button className="primary" onClick={() => setEditing('new')}>
              Register a service
            </button>
          ) : undefined
        }
      />
      {dialog}
      {editing !== null && (
        <RegisterDialog
          instance={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            refreshAll();
          }}
        />
      )}
      <ErrorBanner error={summary.error ?? list.error} />
      <ErrorBanner
        error={actionError}
        onDismiss={() => {
          maintenance.clearError();
          deregister.clearError();
          configure.clearError();
          adopt.clearError();
        }}
      />

      <div className="stats" data-testid="services-stats">
        {summary.data === undefined ? (
          // No zeros until the registry answers: "0 critical" in green would claim a health nobody measured.
          <Stat label="Services" value="—" />
        ) : (
          <>
            <Stat label="Services" value={services.length} />
            <Stat
              label="Instances passing (picked by the balancer)"
              value={`${totals.passing} of ${totals.all}`}
              tone={totals.all === 0 ? undefined : totals.passing === totals.all ? 'ok' : 'warn'}
            />
            <Stat label="Instances critical" value={totals.critical} tone={totals.critical > 0 ? 'bad' : 'ok'} />
            <Stat
              label="Instances in maintenance or warning"
              value={totals.maintenance + totals.warning}
              tone={totals.maintenance + totals.warning > 0 ? 'warn' : undefined}
            />
          </>
        )}
      </div>

      <Card>
        <div className="inline-form">
          <label>
            State
            <select aria-label="State" value={state} onChange={(e) => setState(e.target.value as HealthState | '')}>
              <option value="">any state</option>
              {healthOrder.map((h) => (
                <option key={h} value={h}>
                  {h}
                </option>
              ))}
            </select>
          </label>
          <label>
            Tag
            <input
              aria-label="Tag"
              value={tag}
              onChange={(e) => setTag(e.target.value)}
              placeholder="e.g. eu"
              maxLength={64}
              style={{ minWidth: 140 }}
            />
          </label>
          <label>
            Version range
            <input
              aria-label="Version range"
              value={versionRange}
              onChange={(e) => setVersionRange(e.target.value)}
              placeholder="e.g. ^2.1 or >=1 <3"
              maxLength={200}
              style={{ minWidth: 180 }}
            />
          </label>
        </div>
      </Card>

      <Card title="Services · instances by health">
        {summary.error !== null ? (
          <SourceDown what="The service registry" error={summary.error} testId="registry-down" />
        ) : summary.data === undefined ? (
          <div className="muted">Loading…</div>
        ) : services.length === 0 ? (
          <EmptyState title="No services match">
            LAN programs register with <code>POST /api/v2/services</code> (an operator key) and appear here with their checks.
          </EmptyState>
        ) : (
          <DataTable
            testId="services-summary"
            rows={services}
            rowKey={(s) => s.name}
            rowTestId={(s) => `service-${s.name}`}
            columns={[
              { header: 'Service', className: 'mono', cell: (s) => s.name },
              { header: 'Instances by health', cell: (s) => <HealthBar counts={s.counts} total={s.instances} /> },
              { header: 'Versions', className: 'mono small', cell: (s) => s.versions.join(', ') || '—' },
              { header: 'Tags', className: 'small', cell: (s) => s.tags.join(', ') || '—' },
              {
                header: 'Balancing',
                cell: (s) => (
                  <select
                    aria-label={`Strategy for ${s.name}`}
                    value={s.policy.strategy}
                    disabled={!canChange || configure.pending}
                    onChange={(e) => void configure.run({ name: s.name, strategy: e.target.value as Strategy }).then(refreshAll)}
                  >
                    {strategies.map((st) => (
                      <option key={st} value={st}>
                        {st}
                      </option>
                    ))}
                  </select>
                ),
              },
            ]}
          />
        )}
      </Card>

      <Card title="Instances">
        <table className="table" data-testid="instances-table">
          <thead>
            <tr>
              <th>Instance</th>
              <th>Address</th>
              <th>Version</th>
              <th>Health</th>
              <th>Checks</th>
              <th>Gateway traffic</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => (
              <Fragment key={i.id}>
                <tr data-testid={`instance-${i.id}`}>
                  <td>
                    <button className="link mono" onClick={() => setOpen(open === i.id ? null : i.id)} aria-expanded={open === i.id}>
                      {i.id}
                    </button>
                    <div className="muted small">{i.name}</div>
                  </td>
                  <td className="mono small">
                    {i.address}:{i.port}
                  </td>
                  <td className="mono small">{i.version ?? '—'}</td>
                  <td>
                    <StatusBadge state={i.state} />
                    {i.maintenance !== null && <div className="muted small">{i.maintenance.reason}</div>}
                  </td>
                  <td>
                    {i.checks.length === 0 ? (
                      <span className="muted small">no checks</span>
                    ) : (
                      i.checks.map((c) => (
                        <div key={c.id} className="small" title={c.output}>
                          <StatusBadge state={c.status} /> <span className="mono">{c.id}</span>
                        </div>
                      ))
                    )}
                  </td>
                  <td>
                    <TrafficCell traffic={trafficById.get(i.id)} />
                  </td>
                  <td className="right">
                    {canChange && (
                      <div className="row-actions">
                        <button onClick={() => setEditing(i)}>Edit</button>
                        <button
                          disabled={maintenance.pending}
                          onClick={() => {
                            if (i.maintenance !== null) {
                              void maintenance.run({ id: i.id, enabled: false }).then(refreshAll);
                              return;
                            }
                            confirm({
                              title: 'Put into maintenance?',
                              body: `${i.id} will not be picked until you take it out.`,
                              confirmLabel: 'Start maintenance',
                              input: { label: 'Reason', initial: 'Maintenance' },
                              onConfirm: (reason) =>
                                maintenance
                                  .run({ id: i.id, enabled: true, ...(reason.trim() ? { reason: reason.trim() } : {}) })
                                  .then(refreshAll),
                            });
                          }}
                        >
                          {i.maintenance === null ? 'Maintenance' : 'End maintenance'}
                        </button>
                        <button
                          className="danger"
                          disabled={deregister.pending}
                          onClick={() =>
                            confirm({
                              title: 'Deregister the instance?',
                              body: `${i.id} leaves the registry and the gateway stops sending to it.`,
                              confirmLabel: 'Deregister',
                              danger: true,
                              onConfirm: () => deregister.run({ id: i.id }).then(refreshAll),
                            })
                          }
                        >
                          Deregister
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
                {open === i.id && (
                  <tr>
                    <td colSpan={7}>
                      <InstanceDetail id={i.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </Card>

      <TrafficChart rows={(traffic.data?.instances ?? []).filter((t) => t.requests > 0)} />

      <Card title="Discovered on the LAN (mDNS)">
        {discovered.data === undefined ? null : !discovered.data.enabled ? (
          <p className="muted">
            LAN access is off, so Pilothouse neither announces itself nor browses over mDNS. Start it with --lan to find services on the
            network.
          </p>
        ) : discovered.data.services.length === 0 ? (
          <p className="muted">Nothing found yet. Pilothouse asks the network again every 30 s.</p>
        ) : (
          <DataTable
            testId="discovered-table"
            rows={discovered.data.services}
            rowKey={(d) => d.fqdn}
            columns={[
              { header: 'Name', cell: (d) => d.name },
              { header: 'Type', className: 'mono small', cell: (d) => `_${d.type}._tcp` },
              { header: 'Where', className: 'mono small', cell: (d) => `${d.addresses[0] ?? d.host}:${d.port}` },
              { header: 'Last seen', className: 'small', cell: (d) => formatTime(d.lastSeenAt) },
              {
                header: '',
                className: 'right',
                cell: (d) =>
                  d.adoptedAs !== null ? (
                    <span className="muted small">adopted as {d.adoptedAs}</span>
                  ) : (
                    canChange && (
                      <button
                        disabled={adopt.pending}
                        onClick={() => void adopt.run({ fqdn: d.fqdn }).then(() => (discovered.reload(), refreshAll()))}
                      >
                        Adopt
                      </button>
                    )
                  ),
              },
            ]}
          />
        )}
      </Card>
    </>
  );
}
