import { useState } from 'react';

/**
 * Desktop only: the system folder dialog through which the person at this machine lets backups read
 * and restore under a folder beyond `backup.roots`. A browser console has no such channel (a key
 * cannot widen the roots), so nothing is shown there. `onPicked` hears the folder chosen (the
 * add-source dialog fills its path field with it).
 */
export function PickBackupRoot({ onPicked }: { onPicked?: (path: string) => void } = {}) {
  const bridge = window.pilothouse;
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  if (bridge === undefined) return null;
  const pick = async (): Promise<void> => {
    const reply = await bridge.pickBackupRoot();
    if (!reply.ok) setMessage({ text: `${reply.error.code}: ${reply.error.message}`, error: true });
    else if (reply.result !== null) {
      setMessage({ text: `Backups may now read and restore under ${reply.result.path}`, error: false });
      onPicked?.(reply.result.path);
    }
  };
  return (
    <div className="inline-form">
      <button type="button" onClick={() => void pick()}>
        Allow a folder…
      </button>
      {message !== null && (
        <span role="status" className={message.error ? 'notice bad' : 'notice ok'}>
          {message.text}
        </span>
      )}
    </div>
  );
}
