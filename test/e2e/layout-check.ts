import type { Page } from 'playwright-core';

/**
 * The notices on the page that would show a sentence in pieces: a notice lays out its children as
 * grid rows, so text sitting directly beside an inline element (`strong`, `code`, a `span`) puts
 * each piece on its own row. Answers the start of each such notice's text; none is the good answer.
 */
export async function noticesSplittingText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    interface El {
      readonly childNodes: ArrayLike<{ nodeType: number; textContent: string | null; tagName?: string }>;
      readonly textContent: string | null;
    }
    const g = globalThis as unknown as {
      document: { querySelectorAll(selector: string): ArrayLike<El> };
      getComputedStyle(el: El): { display: string };
    };
    const inline = new Set(['STRONG', 'EM', 'CODE', 'SPAN', 'A', 'B', 'I']);
    const split: string[] = [];
    for (const notice of Array.from(g.document.querySelectorAll('.notice'))) {
      if (g.getComputedStyle(notice).display !== 'grid') continue;
      const children = Array.from(notice.childNodes);
      const bareText = children.some((n) => n.nodeType === 3 && (n.textContent ?? '').trim() !== '');
      const inlineElement = children.some((n) => n.nodeType === 1 && inline.has(n.tagName ?? ''));
      if (bareText && inlineElement) split.push((notice.textContent ?? '').trim().slice(0, 60));
    }
    return split;
  });
}
