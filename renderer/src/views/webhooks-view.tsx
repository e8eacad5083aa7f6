import { useState, type FormEvent } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { webhookEventTypes, type WebhookEventType } from '../../../contract/ops/webhooks';
import { useAction, useClient, useOperation, useSession } from '../client/client-context';
import { usePagedList } from '../client/paged-list';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable, PageFooter } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, PageHeader, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';
import { useThrottledReload } from './jobs-parts';

type Endpoint = OperationResult<'webhooks.list'>['endpoints'][number];

/** Webhook endpoints, their recent deliveries, and the actions on both (ping, rotate, redeliver). */
export function WebhooksView() {
  const { role } = useSession();
  // Before any hook that calls: a viewer may read no endpoint, so nothing is asked for.
  if (role === 'viewer') {
    return (
      <>
        <PageHeader title="Webhooks" />
        <EmptyState title="Operators and admins only">Webhook endpoints and their delivery log need an operator key.</EmptyState>
      </>
    );
  }
  return <Endpoints />;
}

function Endpoints() {
  const { role } = useSession();
  const list = useOperation('webhooks.list', {}, { refreshOn: ['webhooks.endpoint'] });
  const [selected, setSelected] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const remove = useAction('webhooks.delete');
  const update = useAction('webhooks.update');
  const rotate = useAction('webhooks.rotate');
  const ping = useAction('webhooks.test');
  const { dialog, confirm } = useConfirm();

  const endpoints = list.data?.endpoints;
  const current = endpoints?.find((e) => e.id === selected) ?? endpoints?.[0];
  const error = list.error ?? remove.error ?? update.error ?? rotate.error ?? ping.error;

  return (
    <>
      <PageHeader
        title="Webhooks"
        subtitle="Signed (Standard Webhooks) HTTP calls to your integrations when jobs, backups, alerts, services or keys change. Retried for a day; an endpoint that answers 410 or keeps failing is turned off."
      />
      {dialog}
      <ErrorBanner error={error} onDismiss={() => (remove.clearError(), update.clearError(), rotate.clearError(), ping.clearError())} />
      {secret !== null && (
        <div className="notice" role="status" data-testid="webhook-secret">
          <div>
            Signing secret for <strong>{secret.label}</strong>. Copy it now; it will not be shown again.
          </div>
          <code className="secret">{secret.value}</code>
          <button className="link" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      )}
      {role === 'admin' && (
        <CreateEndpoint
          onCreated={(url, value) => {
            setSecret({ label: url, value });
            list.reload();
          }}
        />
      )}
      <Card title="Endpoints">
        {endpoints !== undefined && endpoints.length === 0 ? (
          <EmptyState title="No endpoints yet">Register a URL on your LAN to receive events.</EmptyState>
        ) : (
          <DataTable
            testId="webhook-endpoints"
            rows={endpoints}
            rowKey={(e) => e.id}
            rowTestId={(e) => `endpoint-${e.url}`}
            rowClassName={(e) => (e.id === current?.id ? 'selected' : undefined)}
            columns={[
              {
                header: 'URL',
                className: 'mono',
                cell: (e) => (
                  <button className="link" onClick={() => setSelected(e.id)}>
                    {e.url}
                  </button>
                ),
              },
              { header: 'Events', cell: (e) => e.eventTypes.join(', ') },
              {
                header: 'State',
                cell: (e) => <StatusBadge state={e.enabled ? 'enabled' : 'disabled'} />,
                title: (e) => e.disabledReason ?? '',
              },
              { header: 'Secrets', className: 'right', cell: (e) => e.activeSecrets },
              { header: 'Actions', className: 'right', cell: (e) => endpointActions(e) },
            ]}
          />
        )}
      </Card>
      {current !== undefined && <Deliveries endpoint={current} />}
    </>
  );

  // Called, not mounted as a component: a component declared in here would be a new type each
  // render, remounting its buttons (and losing the focus a closed dialog hands back to one).
  function endpointActions(endpoint: Endpoint) {
    return (
      <span className="actions">
        <button disabled={ping.pending} onClick={() => void ping.run({ id: endpoint.id }).then(() => setSelected(endpoint.id))}>
          Test ping
        </button>
        {role === 'admin' && (
          <>
            <button
              disabled={rotate.pending}
              onClick={() =>
                void rotate.run({ id: endpoint.id }).then((r) => {
                  if (r !== undefined) setSecret({ label: `${endpoint.url} (the old secret signs for 24 h more)`, value: r.secret });
                  list.reload();
                })
              }
            >
              Rotate secret
            </button>
            {!endpoint.enabled && (
              <button onClick={() => void update.run({ id: endpoint.id, enabled: true }).then(() => list.reload())}>Enable</button>
            )}
            <button
              className="danger"
              onClick={() =>
                confirm({
                  title: 'Remove the endpoint?',
                  body: `Remove ${endpoint.url} and its delivery log?`,
                  confirmLabel: 'Remove endpoint',
                  danger: true,
                  onConfirm: () => remove.run({ id: endpoint.id }).then(() => list.reload()),
                })
              }
            >
              Remove
            </button>
          </>
        )}
      </span>
    );
  }
}

function CreateEndpoint({ onCreated }: { onCreated: (url: string, secret: string) => void }) {
  const create = useAction('webhooks.create');
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<WebhookEventType[]>(['job.dead', 'backup.failed', 'alert.fired']);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run({ url, eventTypes: types });
    if (result !== undefined) {
      onCreated(result.endpoint.url, result.secret);
      setUrl('');
    }
  };
  return (
    <Card title="Register an endpoint">
      <ErrorBanner error={create.error} onDismiss={create.clearError} />
      <form className="inline-form" onSubmit={(e) => void submit(e)} onChange={create.clearError}>
        <label>
          URL
          <input value={url} onChange={(e) => setUrl(e.target.value)} placeholder="http://10.0.0.5:8080/hooks" required maxLength={2000} />
        </label>
        <fieldset className="checkbox-group">
          <legend>Events</legend>
          {webhookEventTypes.map((type) => (
            <label key={type} className="checkbox">
              <input
                type="checkbox"
                checked={types.includes(type)}
                onChange={(e) => setTypes(e.target.checked ? [...types, type] : types.filter((t) => t !== type))}
              />{' '}
              {type}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary" disabled={create.pending || url.trim() === '' || types.length === 0}>
          {create.pending ? 'Registering…' : 'Register'}
        </button>
      </form>
    </Card>
  );
}

/** The endpoint's deliveries, newest first, paged by the server (offset and limit, with the true total). */
function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const client = useClient();
  const deliveries = usePagedList(async (cursor, limit) => {
    const offset = cursor === undefined ? 0 : Number(cursor);
    const page = await client.call('webhooks.deliveries', { endpointId: endpoint.id, limit, offset });
    const next = offset + page.deliveries.length;
    return { items: page.deliveries, total: page.total, nextCursor: next < page.total ? String(next) : null };
  }, endpoint.id);
  useThrottledReload(deliveries.reload, ['webhooks.delivery']);
  const redeliver = useAction('webhooks.redeliver');
  const rows = deliveries.rows;
  return (
    <Card title={`Deliveries to ${endpoint.url}`}>
      <ErrorBanner error={deliveries.error ?? redeliver.error} onDismiss={redeliver.clearError} />
      <button
        disabled={redeliver.pending || !(rows ?? []).some((d) => d.status === 'failed')}
        onClick={() => void redeliver.run({ failedOf: endpoint.id }).then(() => deliveries.reload())}
      >
        Redeliver all failed
      </button>
      <DataTable
        testId="webhook-deliveries"
        rows={rows}
        rowKey={(d) => d.id}
        rowTestId={(d) => `delivery-${d.eventType}`}
        columns={[
          { header: 'Created', cell: (d) => formatTime(d.createdAt) },
          { header: 'Event', cell: (d) => d.eventType },
          { header: 'Id', className: 'mono', cell: (d) => d.eventId.slice(-12), title: (d) => d.eventId },
          { header: 'Status', cell: (d) => <StatusBadge state={d.status} /> },
          { header: 'Attempts', className: 'right', cell: (d) => d.attempts },
          { header: 'Last answer', cell: (d) => (d.lastStatus !== null ? `HTTP ${d.lastStatus}` : (d.lastError ?? '')) },
          { header: 'Took', className: 'right', cell: (d) => (d.log.length > 0 ? `${d.log.at(-1)?.durationMs} ms` : '') },
          {
            header: '',
            className: 'right',
            cell: (d) => (
              <button disabled={redeliver.pending} onClick={() => void redeliver.run({ ids: [d.id] }).then(() => deliveries.reload())}>
                Redeliver
              </button>
            ),
          },
        ]}
      />
      <PageFooter
        testId="webhook-deliveries-count"
        shown={rows?.length ?? 0}
        total={deliveries.total}
        noun="deliveries"
        hasMore={deliveries.hasMore}
        loading={deliveries.loading}
        onMore={deliveries.loadMore}
      />
    </Card>
  );
}
