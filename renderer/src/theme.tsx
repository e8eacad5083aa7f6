import { useEffect, useState } from 'react';

export type Theme = 'light' | 'dark';

const THEME_KEY = 'pilothouse.theme';
const lightQuery = '(prefers-color-scheme: light)';
/** Fired on the window when the theme on <html> changes, so the toggle's label follows the system too. */
const THEME_CHANGED = 'pilothouse:theme';

/** The operator's choice, or null to follow the system's `prefers-color-scheme`. */
function storedTheme(): Theme | null {
  const value = localStorage.getItem(THEME_KEY);
  return value === 'light' || value === 'dark' ? value : null;
}

function effectiveTheme(): Theme {
  return storedTheme() ?? (window.matchMedia(lightQuery).matches ? 'light' : 'dark');
}

function setThemeAttribute(): void {
  document.documentElement.dataset.theme = effectiveTheme();
  window.dispatchEvent(new Event(THEME_CHANGED));
}

let following = false;

/**
 * Sets the theme on <html> before the first paint: the stored choice, else the system's. The
 * stylesheet has one light palette, keyed on the attribute; while no choice is stored, a change of
 * the system's preference (e.g. at dusk) sets the attribute again.
 */
export function applyStoredTheme(): void {
  setThemeAttribute();
  if (following) return;
  following = true;
  window.matchMedia(lightQuery).addEventListener('change', () => {
    if (storedTheme() === null) setThemeAttribute();
  });
}

/** Switches between light and dark and remembers the choice in this browser. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(effectiveTheme);
  useEffect(() => {
    const onChange = () => setTheme(effectiveTheme());
    window.addEventListener(THEME_CHANGED, onChange);
    return () => window.removeEventListener(THEME_CHANGED, onChange);
  }, []);
  const next: Theme = theme === 'light' ? 'dark' : 'light';
  return (
    <button
      className="link"
      data-testid="theme-toggle"
      onClick={() => {
        localStorage.setItem(THEME_KEY, next);
        applyStoredTheme();
      }}
    >
      {next === 'light' ? 'Light theme' : 'Dark theme'}
    </button>
  );
}
