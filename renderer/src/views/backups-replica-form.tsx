/** The add-replica form: a folder, or another Pilothouse node of the fleet (S3 and SFTP go through the API). */
import { useState, type FormEvent } from 'react';
import type { OperationInput } from '../../../contract/operations';

type NewReplica = OperationInput<'backup.replicas.add'>;

export function AddReplicaForm({
  pending,
  onAdd,
  onEdit,
}: {
  pending: boolean;
  onAdd: (input: NewReplica) => Promise<boolean>;
  /** Called on every input change: an error about the last attempt no longer applies. */
  onEdit: () => void;
}) {
  const [kind, setKind] = useState<'folder' | 'peer'>('folder');
  const [path, setPath] = useState('');
  const [url, setUrl] = useState('');
  const [node, setNode] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [certSha256, setCertSha256] = useState('');

  const input = (): NewReplica | null => {
    if (kind === 'folder') return path.trim() === '' ? null : { name: path.trim(), kind, path: path.trim() };
    if ((url.trim() === '' && node.trim() === '') || apiKey.trim() === '') return null;
    return {
      name: node.trim() === '' ? url.trim() : node.trim(),
      kind,
      apiKey: apiKey.trim(),
      ...(url.trim() === '' ? {} : { url: url.trim() }),
      ...(node.trim() === '' ? {} : { node: node.trim() }),
      ...(certSha256.trim() === '' ? {} : { certSha256: certSha256.trim() }),
    };
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const ready = input();
    if (ready === null) return;
    void onAdd(ready).then((added) => {
      if (!added) return;
      setPath('');
      setUrl('');
      setNode('');
      setApiKey('');
      setCertSha256('');
    });
  };

  return (
    <form className="inline-form" onSubmit={submit} onChange={onEdit}>
      <label>
        Kind
        <select value={kind} onChange={(e) => setKind(e.target.value as 'folder' | 'peer')}>
          <option value="folder">Folder</option>
          <option value="peer">Another Pilothouse node</option>
        </select>
      </label>
      {kind === 'folder' ? (
        <label>
          Folder replica (an external drive or a NAS mount)
          <input value={path} onChange={(e) => setPath(e.target.value)} placeholder="/mnt/backup-drive/pilothouse" />
        </label>
      ) : (
        <>
          <label>
            Node URL (or leave empty: found on the LAN by its id)
            <input value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://192.168.1.20:7400" />
          </label>
          <label>
            Node id (pinned from its first answer when not given)
            <input value={node} onChange={(e) => setNode(e.target.value)} placeholder="node-…" />
          </label>
          <label>
            Admin API key of that node
            <input type="password" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.target.value)} />
          </label>
          <label>
            Certificate SHA-256 (https, self-signed)
            <input value={certSha256} onChange={(e) => setCertSha256(e.target.value)} placeholder="AB:CD:…" />
          </label>
        </>
      )}
      <button type="submit" disabled={input() === null || pending}>
        Add replica
      </button>
    </form>
  );
}
