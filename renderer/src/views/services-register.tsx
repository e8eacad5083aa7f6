/** Registering a service instance from the console, and editing one (its address, tags, weight and checks). */
import { useId, useState, type FormEvent } from 'react';
import type { OperationInput, OperationResult } from '../../../contract/operations';
import { useAction } from '../client/client-context';
import { Dialog } from '../components/dialog';
import { ErrorBanner } from '../components/ui';

type Instance = OperationResult<'services.list'>['instances'][number];
type CheckInput = NonNullable<OperationInput<'services.register'>['checks']>[number];
type Kind = 'http' | 'tcp' | 'ttl';

interface CheckRow {
  kind: Kind;
  /** http: the URL; tcp: host:port; ttl: milliseconds between heartbeats. */
  target: string;
  intervalMs: string;
  /** http: kept from the check being edited (the form asks for GET). */
  method?: 'GET' | 'HEAD';
}

/** Reads a check's state back into the form (its target is in words: "GET http://…", "TCP host:port", "heartbeat within N ms"). */
function rowOf(check: Instance['checks'][number]): CheckRow {
  const target =
    check.kind === 'http'
      ? check.target.replace(/^(GET|HEAD) /, '')
      : check.kind === 'tcp'
        ? check.target.replace(/^TCP /, '')
        : (/(\d+)/.exec(check.target)?.[1] ?? '10000');
  const method = check.kind === 'http' && check.target.startsWith('HEAD ') ? { method: 'HEAD' as const } : {};
  return { kind: check.kind, target, intervalMs: String(check.intervalMs), ...method };
}

function checkOf(row: CheckRow): CheckInput {
  const intervalMs = Number(row.intervalMs);
  const interval = Number.isInteger(intervalMs) && intervalMs >= 20 ? { intervalMs } : {};
  if (row.kind === 'http')
    return {
      kind: 'http',
      ...(row.target.trim() === '' ? {} : { url: row.target.trim() }),
      ...(row.method === undefined ? {} : { method: row.method }),
      ...interval,
    };
  if (row.kind === 'ttl') return { kind: 'ttl', ttlMs: Number(row.target) };
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(row.target.trim());
  return match === null ? { kind: 'tcp', ...interval } : { kind: 'tcp', host: match[1] as string, port: Number(match[2]), ...interval };
}

/**
 * The register/edit dialog. Editing re-registers the instance under its id with what the form
 * holds: the registry keeps the status of checks that did not change.
 */
export function RegisterDialog({ instance, onClose, onDone }: { instance: Instance | null; onClose: () => void; onDone: () => void }) {
  const titleId = useId();
  const register = useAction('services.register');
  const [name, setName] = useState(instance?.name ?? '');
  const [address, setAddress] = useState(instance?.address ?? '127.0.0.1');
  const [port, setPort] = useState(instance === null ? '' : String(instance.port));
  const [version, setVersion] = useState(instance?.version ?? '');
  const [weight, setWeight] = useState(String(instance?.weight ?? 1));
  const [tags, setTags] = useState((instance?.tags ?? []).join(', '));
  const [checks, setChecks] = useState<CheckRow[]>(instance?.checks.map(rowOf) ?? []);
  const setCheck = (i: number, change: Partial<CheckRow>) => setChecks(checks.map((c, j) => (j === i ? { ...c, ...change } : c)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const tagList = tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    const result = await register.run({
      name: name.trim(),
      ...(instance === null ? {} : { id: instance.id }),
      address: address.trim(),
      port: Number(port),
      tags: tagList,
      ...(version.trim() === '' ? {} : { version: version.trim() }),
      weight: Number(weight),
      checks: checks.map(checkOf),
    });
    if (result !== undefined) onDone();
  };

  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <form className="dialog-form" onSubmit={(e) => void submit(e)} onChange={register.clearError} data-testid="service-dialog">
        <h3 id={titleId}>{instance === null ? 'Register a service instance' : `Edit ${instance.id}`}</h3>
        <ErrorBanner error={register.error} onDismiss={register.clearError} />
        <div className="field-row">
          <label className="block">
            Service name
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={63} disabled={instance !== null} />
          </label>
          <label className="block">
            Address
            <input value={address} onChange={(e) => setAddress(e.target.value)} required maxLength={253} />
          </label>
          <label className="block">
            Port
            <input type="number" min={1} max={65535} value={port} onChange={(e) => setPort(e.target.value)} required />
          </label>
        </div>
        <div className="field-row">
          <label className="block">
            Version
            <input value={version} onChange={(e) => setVersion(e.target.value)} maxLength={64} placeholder="e.g. 1.4.2" />
          </label>
          <label className="block">
            Weight
            <input type="number" min={1} max={1000} value={weight} onChange={(e) => setWeight(e.target.value)} />
          </label>
          <label className="block">
            Tags (comma separated)
            <input value={tags} onChange={(e) => setTags(e.target.value)} />
          </label>
        </div>
        <fieldset>
          <legend>Health checks</legend>
          {checks.length === 0 && <p className="muted small">No check: the instance counts as passing until one is added.</p>}
          {checks.map((check, i) => (
            <div className="field-row" key={i} data-testid={`check-row-${i}`}>
              <label className="block">
                Kind
                <select value={check.kind} onChange={(e) => setCheck(i, { kind: e.target.value as Kind, target: '' })}>
                  <option value="http">HTTP GET</option>
                  <option value="tcp">TCP connect</option>
                  <option value="ttl">heartbeat (TTL)</option>
                </select>
              </label>
              <label className="block">
                {check.kind === 'http'
                  ? 'URL (empty: /health on the instance)'
                  : check.kind === 'tcp'
                    ? 'host:port (empty: the instance)'
                    : 'Within (ms)'}
                <input value={check.target} onChange={(e) => setCheck(i, { target: e.target.value })} />
              </label>
              {check.kind !== 'ttl' && (
                <label className="block">
                  Every (ms)
                  <input
                    type="number"
                    min={20}
                    max={3_600_000}
                    value={check.intervalMs}
                    onChange={(e) => setCheck(i, { intervalMs: e.target.value })}
                  />
                </label>
              )}
              <button
                type="button"
                className="link"
                onClick={() => setChecks(checks.filter((_, j) => j !== i))}
                aria-label={`Remove check ${i + 1}`}
              >
                Remove
              </button>
            </div>
          ))}
          {checks.length < 8 && (
            <button type="button" onClick={() => setChecks([...checks, { kind: 'http', target: '', intervalMs: '10000' }])}>
              Add a check
            </button>
          )}
        </fieldset>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={register.pending || name.trim() === '' || port === ''}>
            {instance === null ? 'Register' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
