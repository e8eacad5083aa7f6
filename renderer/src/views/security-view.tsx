import { useState, type FormEvent } from 'react';
import { roleAllows, type Role } from '../../../contract/roles';
import { useAction, useOperation, useSession } from '../client/client-context';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, PageHeader, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';
import { RateTiersCard } from './rate-tiers-card';
import { KeyDialog, type Key } from './security-key-dialog';
import { CopyButton } from '../components/copy-button';

/**
 * An admin manages keys and tiers; an operator may read the rate-limit tiers (docs/security.md), so
 * sees them without controls; a viewer reads nothing here. No role is sent what it may not call.
 */
export function SecurityView() {
  const { role } = useSession();
  if (roleAllows(role, 'admin')) return <KeysAndTiers />;
  if (roleAllows(role, 'operator'))
    return (
      <>
        <PageHeader
          title="Security"
          subtitle="Rate-limit tiers and each key's use of its window. Keys and tier changes need an admin key."
        />
        <RateTiersCard canEdit={false} />
      </>
    );
  return (
    <>
      <PageHeader title="Security" />
      <EmptyState title="Operators and admins only">Rate-limit tiers need an operator key; API keys need an admin key.</EmptyState>
    </>
  );
}

function KeysAndTiers() {
  const [showRevoked, setShowRevoked] = useState(false);
  // Reads are not audited, so "last used" moves without an event: read again every 15 s as well.
  const keys = useOperation('keys.list', { includeRevoked: showRevoked }, { refreshOn: ['audit.appended'], intervalMs: 15_000 });
  const create = useAction('keys.create');
  const revoke = useAction('keys.revoke');
  const [name, setName] = useState('');
  const [newRole, setNewRole] = useState<Role>('viewer');
  const [newScopes, setNewScopes] = useState('');
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);
  const [editing, setEditing] = useState<Key | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const { dialog, confirm } = useConfirm();
  const tiers = useOperation('ratelimit.tiers', {}, { refreshOn: ['audit.appended'] });
  const tierOf = new Map((tiers.data?.keys ?? []).map((k) => [k.keyId, k]));
  /** The tier set for a key itself, or null when it follows its role's default. */
  const assignedTier = (id: string): string | null => {
    const on = tierOf.get(id);
    return on?.assigned === true ? on.tier : null;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const scopes = newScopes.split(/[\s,]+/).filter((x) => x !== '');
    const result = await create.run({ name, role: newRole, ...(scopes.length === 0 ? {} : { scopes }) });
    if (result !== undefined) {
      setSecret({ name: result.key.name, value: result.secret });
      setName('');
      setNewScopes('');
      keys.reload();
    }
  };

  return (
    <>
      <PageHeader title="Security" subtitle="API keys for LAN programs and operators. Secrets are shown once, at creation." />
      {dialog}
      {editing !== null && (
        <KeyDialog
          apiKey={editing}
          tier={assignedTier(editing.id)}
          tiers={(tiers.data?.tiers ?? []).map((t) => t.name)}
          onClose={() => setEditing(null)}
          onDone={(text) => {
            setEditing(null);
            setSaved(text);
            keys.reload();
            tiers.reload();
          }}
        />
      )}
      <ErrorBanner error={keys.error ?? create.error ?? revoke.error} onDismiss={() => (create.clearError(), revoke.clearError())} />
      {secret !== null && (
        <div className="notice" role="status" data-testid="new-key">
          <div>
            New key <strong>{secret.name}</strong>. Copy it now; it will not be shown again.
          </div>
          <code className="secret">{secret.value}</code>
          <CopyButton text={secret.value} />{' '}
          <button className="link" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      )}
      {saved !== null && (
        <div className="notice ok" role="status" data-testid="key-saved">
          {saved}{' '}
          <button className="link" onClick={() => setSaved(null)}>
            OK
          </button>
        </div>
      )}
      <Card title="Create a key">
        <form className="inline-form" onSubmit={(e) => void submit(e)} onChange={create.clearError}>
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. inventory-service" required maxLength={100} />
          </label>
          <label>
            Role
            <select value={newRole} onChange={(e) => setNewRole(e.target.value as Role)}>
              <option value="viewer">viewer: read only</option>
              <option value="operator">operator: run and change services</option>
              <option value="admin">admin: everything, keys included</option>
            </select>
          </label>
          <label>
            Scopes
            <input
              value={newScopes}
              onChange={(e) => setNewScopes(e.target.value)}
              placeholder="e.g. jobs:read cache:write"
              maxLength={5000}
            />
          </label>
          <button type="submit" className="primary" disabled={create.pending || name.trim() === ''}>
            {create.pending ? 'Creating…' : 'Create key'}
          </button>
        </form>
      </Card>
      <Card title="Keys">
        <label className="checkbox">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} /> Show revoked keys
        </label>
        <DataTable
          testId="keys-table"
          rows={keys.data?.keys}
          rowKey={(key) => key.id}
          columns={[
            { header: 'Name', cell: (key) => key.name },
            { header: 'Id', className: 'mono', cell: (key) => key.id },
            { header: 'Role', cell: (key) => key.role },
            { header: 'Scopes', className: 'mono', cell: (key) => (key.scopes.length === 0 ? '—' : key.scopes.join(' ')) },
            {
              header: 'Tier',
              cell: (key) => {
                const on = tierOf.get(key.id);
                if (on === undefined) return 'role default';
                return on.assigned ? on.tier : <span title={`The default tier for the ${key.role} role`}>{on.tier} (default)</span>;
              },
            },
            { header: 'Created', cell: (key) => formatTime(key.createdAt) },
            { header: 'Last used', cell: (key) => formatTime(key.lastUsedAt) },
            {
              header: '',
              className: 'right',
              cell: (key) =>
                key.revokedAt !== null ? (
                  <StatusBadge state="stopped" />
                ) : (
                  <span className="actions">
                    <button onClick={() => setEditing(key)}>Scopes and tier</button>
                    <button
                      className="danger"
                      disabled={revoke.pending}
                      onClick={() =>
                        confirm({
                          title: 'Revoke the key?',
                          body: `Revoke ${key.name}? Programs using it will be refused at once.`,
                          confirmLabel: 'Revoke key',
                          danger: true,
                          onConfirm: () => revoke.run({ id: key.id }).then(() => keys.reload()),
                        })
                      }
                    >
                      Revoke
                    </button>
                  </span>
                ),
            },
          ]}
        />
      </Card>
      <RateTiersCard canEdit />
    </>
  );
}
