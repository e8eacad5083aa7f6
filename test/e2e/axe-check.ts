import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/** Every serious or critical axe finding on the page (or inside `include`), as `rule (impact): targets`. */
export async function seriousAxeViolations(page: Page, include?: string): Promise<string[]> {
  const builder = new AxeBuilder({ page });
  if (include !== undefined) builder.include(include);
  const result = await builder.analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** How far the page scrolls sideways, in CSS pixels (0 when it fits). */
export async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document
      .documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

/** The serious findings inside `include` in each theme (the console follows prefers-color-scheme), tagged with the theme. */
export async function seriousAxeViolationsInBothThemes(page: Page, include?: string): Promise<string[]> {
  const found: string[] = [];
  for (const colorScheme of ['dark', 'light'] as const) {
    await page.emulateMedia({ colorScheme });
    for (const v of await seriousAxeViolations(page, include)) found.push(`${colorScheme}: ${v}`);
  }
  return found;
}
