import { useCallback, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Dialog } from './dialog';

export interface Question {
  readonly title: string;
  readonly body: ReactNode;
  /** The confirming button's words, e.g. "Revoke key". */
  readonly confirm: string;
  /** A destructive action: the confirming button is red. */
  readonly danger?: boolean;
  /** Ask for a line of text too (e.g. a reason); the answer is then that text. */
  readonly input?: { readonly label: string; readonly initial: string };
}

/**
 * The console's in-page confirm and prompt (never the browser's `confirm()`/`prompt()`, which are
 * unstyled, block the page and are not announced like a dialog). `ask()` opens the dialog and
 * resolves with true (or the text typed) on confirm, and null on cancel or Escape.
 */
export function useConfirm(): { dialog: ReactNode; ask: (question: Question) => Promise<string | true | null> } {
  const [open, setOpen] = useState<Question | null>(null);
  const resolver = useRef<((answer: string | true | null) => void) | null>(null);
  const ask = useCallback(
    (question: Question) =>
      new Promise<string | true | null>((resolve) => {
        resolver.current?.(null);
        resolver.current = resolve;
        setOpen(question);
      }),
    [],
  );
  const answer = (value: string | true | null) => {
    resolver.current?.(value);
    resolver.current = null;
    setOpen(null);
  };
  return { dialog: open === null ? null : <ConfirmDialog question={open} onAnswer={answer} />, ask };
}

function ConfirmDialog({ question, onAnswer }: { question: Question; onAnswer: (value: string | true | null) => void }) {
  const titleId = useId();
  const [text, setText] = useState(question.input?.initial ?? '');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onAnswer(question.input === undefined ? true : text);
  };
  return (
    <Dialog titleId={titleId} onClose={() => onAnswer(null)}>
      <form onSubmit={submit} className="dialog-form" data-testid="confirm-dialog">
        <h3 id={titleId}>{question.title}</h3>
        <div>{question.body}</div>
        {question.input !== undefined && (
          <label className="block">
            {question.input.label}
            <input value={text} onChange={(e) => setText(e.target.value)} maxLength={200} />
          </label>
        )}
        <div className="modal-actions">
          <button type="button" onClick={() => onAnswer(null)}>
            Cancel
          </button>
          <button type="submit" className={question.danger === true ? 'danger' : 'primary'}>
            {question.confirm}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
