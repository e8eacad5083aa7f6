import { useCallback, useId, useState, type ReactNode } from 'react';
import { Dialog } from './dialog';

/** What a confirmation asks: the question, what the button says, and what confirming does. */
export interface ConfirmRequest {
  readonly title: string;
  readonly body?: ReactNode;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  /** Ask for a line of text too (in place of `window.prompt`, e.g. a reason); `onConfirm` gets it. */
  readonly input?: { readonly label: string; readonly initial: string };
  /** Runs when confirmed; the dialog closes when it settles (the caller shows its own errors). */
  readonly onConfirm: (text: string) => unknown;
}

/** An in-page confirmation in place of `window.confirm`: focus inside, Escape or Cancel closes it. */
export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest; onClose: () => void }) {
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  const [text, setText] = useState(request.input?.initial ?? '');
  const confirm = async () => {
    setBusy(true);
    try {
      await request.onConfirm(text);
    } finally {
      setBusy(false);
      onClose();
    }
  };
  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <h3 id={titleId}>{request.title}</h3>
      {request.body !== undefined && <div data-testid="confirm-body">{request.body}</div>}
      {request.input !== undefined && (
        <label className="block">
          {request.input.label}
          <input value={text} onChange={(e) => setText(e.target.value)} maxLength={200} />
        </label>
      )}
      <div className="modal-actions">
        <button onClick={onClose}>Cancel</button>
        <button className={request.danger === true ? 'danger' : 'primary'} disabled={busy} onClick={() => void confirm()}>
          {request.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

/** `confirm(request)` opens the dialog; render `dialog` where it should live. */
export function useConfirm(): { confirm: (request: ConfirmRequest) => void; dialog: ReactNode } {
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const confirm = useCallback((r: ConfirmRequest) => setRequest(r), []);
  const dialog = request === null ? null : <ConfirmDialog request={request} onClose={() => setRequest(null)} />;
  return { confirm, dialog };
}
