import { createContext, useContext, useId, useLayoutEffect, useState, useSyncExternalStore, type ReactNode } from 'react';

/** Which banners of one view show which error: the first to claim a kind of error shows it, the rest stay hidden. */
class ShownErrors {
  readonly #claims = new Map<string, string[]>();
  readonly #listeners = new Set<() => void>();

  claim(kind: string, banner: string): void {
    this.#claims.set(kind, [...(this.#claims.get(kind) ?? []), banner]);
    this.#changed();
  }

  release(kind: string, banner: string): void {
    const rest = (this.#claims.get(kind) ?? []).filter((b) => b !== banner);
    if (rest.length === 0) this.#claims.delete(kind);
    else this.#claims.set(kind, rest);
    this.#changed();
  }

  shownBy(kind: string): string | undefined {
    return this.#claims.get(kind)?.[0];
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

const BannerScopeContext = createContext<ShownErrors | null>(null);

/**
 * One view's banners: several reads failing for one cause (a rate limit, a dependency down) show
 * one banner, not one per card.
 */
export function BannerScope({ children }: { children: ReactNode }) {
  const [shown] = useState(() => new ShownErrors());
  return <BannerScopeContext.Provider value={shown}>{children}</BannerScopeContext.Provider>;
}

const noScope = () => () => undefined;

/** Whether this banner is the one of its view to show an error of `kind` (null: no error). Outside a scope, always. */
export function useShowsErrorOnce(kind: string | null): boolean {
  const scope = useContext(BannerScopeContext);
  const banner = useId();
  // Claimed before paint, so a second banner of the same kind never flashes.
  useLayoutEffect(() => {
    if (scope === null || kind === null) return undefined;
    scope.claim(kind, banner);
    return () => scope.release(kind, banner);
  }, [scope, kind, banner]);
  const shownBy = useSyncExternalStore(scope?.subscribe ?? noScope, () =>
    scope === null || kind === null ? banner : (scope.shownBy(kind) ?? banner),
  );
  return shownBy === banner;
}
