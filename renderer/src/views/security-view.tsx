import { useState, type FormEvent } from 'react';
import type { Role } from '../../../contract/roles';
import { useAction, useOperation, useSession } from '../client/client-context';
import { Card, EmptyState, ErrorBanner, PageHeader, StatusBadge, formatTime } from '../components/ui';

export function SecurityView() {
  const { role } = useSession();
  const [showRevoked, setShowRevoked] = useState(false);
  const keys = useOperation('keys.list', { includeRevoked: showRevoked }, { refreshOn: ['audit.appended'] });
  const create = useAction('keys.create');
  const revoke = useAction('keys.revoke');
  const [name, setName] = useState('');
  const [newRole, setNewRole] = useState<Role>('viewer');
  const [secret, setSecret] = useState<{ name: string; value: string } | null>(null);

  if (role !== 'admin') {
    return (
      <>
        <PageHeader title="Security" />
        <EmptyState title="Admins only">API keys can be seen and managed with an admin key.</EmptyState>
      </>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run({ name, role: newRole });
    if (result !== undefined) {
      setSecret({ name: result.key.name, value: result.secret });
      setName('');
      keys.reload();
    }
  };

  return (
    <>
      <PageHeader title="Security" subtitle="API keys for LAN programs and operators. Secrets are shown once, at creation." />
      <ErrorBanner error={keys.error ?? create.error ?? revoke.error} onDismiss={() => (create.clearError(), revoke.clearError())} />
      {secret !== null && (
        <div className="notice" role="status" data-testid="new-key">
          <div>
            New key <strong>{secret.name}</strong>. Copy it now; it will not be shown again.
          </div>
          <code className="secret">{secret.value}</code>
          <button className="link" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      )}
      <Card title="Create a key">
        <form className="inline-form" onSubmit={(e) => void submit(e)}>
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
          <button type="submit" className="primary" disabled={create.pending || name.trim() === ''}>
            {create.pending ? 'Creating…' : 'Create key'}
          </button>
        </form>
      </Card>
      <Card title="Keys">
        <label className="checkbox">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} /> Show revoked keys
        </label>
        <table className="table" data-testid="keys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th>Role</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data?.keys.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td className="mono">{key.id}</td>
                <td>{key.role}</td>
                <td>{formatTime(key.createdAt)}</td>
                <td>{formatTime(key.lastUsedAt)}</td>
                <td className="right">
                  {key.revokedAt !== null ? (
                    <StatusBadge state="stopped" />
                  ) : (
                    <button
                      className="danger"
                      disabled={revoke.pending}
                      onClick={() => {
                        if (window.confirm(`Revoke ${key.name}? Programs using it will be refused at once.`)) {
                          void revoke.run({ id: key.id }).then(() => keys.reload());
                        }
                      }}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
