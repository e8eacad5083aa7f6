import { useCallback, type ReactNode } from 'react';
import { useConfirm } from './confirm';

/** A question and what confirming it does: the Jobs and Cache views' levers ask this way. */
export interface ConfirmRequest {
  readonly title: string;
  readonly body?: ReactNode;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  /** Runs when confirmed (the caller shows its own errors); nothing runs on Cancel or Escape. */
  readonly onConfirm: () => unknown;
}

/** The console's in-page confirm (components/confirm.tsx), taking the action with the question. */
export function useConfirmAction(): { confirm: (request: ConfirmRequest) => void; dialog: ReactNode } {
  const { ask, dialog } = useConfirm();
  const confirm = useCallback(
    (r: ConfirmRequest) =>
      void ask({
        title: r.title,
        body: r.body ?? null,
        confirm: r.confirmLabel,
        ...(r.danger === undefined ? {} : { danger: r.danger }),
      }).then((answer) => (answer === null ? undefined : r.onConfirm())),
    [ask],
  );
  return { confirm, dialog };
}
