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

/**
 * The cards on the page that scroll sideways inside: a card holds a table wider than itself by
 * scrolling it (so the page still fits), but then a row's last columns, its buttons among them, are
 * cut off until the reader scrolls the card. Answers each such card's title and how far it
 * scrolls; none is the good answer.
 */
export async function cardsScrollingSideways(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    interface Card {
      readonly scrollWidth: number;
      readonly clientWidth: number;
      querySelector(selector: string): { textContent: string | null } | null;
    }
    const g = globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<Card> } };
    const scrolling: string[] = [];
    for (const card of Array.from(g.document.querySelectorAll('.card'))) {
      const over = card.scrollWidth - card.clientWidth;
      // A pixel of rounding is not a cut-off column.
      if (over > 1) scrolling.push(`${card.querySelector('h2')?.textContent ?? 'a card without a title'} scrolls ${over} px`);
    }
    return scrolling;
  });
}
