import { useState } from 'react';

/**
 * Copies `text` to the clipboard, and says whether it did: a secret shown once is easy to lose by
 * selecting one character too few. Where the clipboard is refused, it says to copy by hand.
 */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'refused'>('idle');
  const copy = () =>
    void navigator.clipboard.writeText(text).then(
      () => setState('copied'),
      () => setState('refused'),
    );
  return (
    <button type="button" onClick={copy}>
      {state === 'copied' ? 'Copied' : state === 'refused' ? 'Copy refused: select it and copy' : label}
    </button>
  );
}
