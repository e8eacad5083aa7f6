import { useEffect, useState } from 'react';

export type Theme = 'light' | 'dark';

const THEME_KEY = 'pilothouse.theme';
const lightQuery = '(prefers-color-scheme: light)';

/** The operator's choice, or null to follow the system's `prefers-color-scheme`. */
function storedTheme(): Theme | null {
  const value = localStorage.getItem(THEME_KEY);
  return value === 'light' || value === 'dark' ? value : null;
}

/**
 * Sets the chosen theme on <html> before the first paint. Without a choice there is no attribute
 * and the stylesheet's media query follows the system, live.
 */
export function applyStoredTheme(): void {
  const theme = storedTheme();
  if (theme === null) delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

function effectiveTheme(): Theme {
  return storedTheme() ?? (window.matchMedia(lightQuery).matches ? 'light' : 'dark');
}

/** Switches between light and dark and remembers the choice in this browser. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(effectiveTheme);
  useEffect(() => {
    // While following the system, a change there (e.g. at dusk) is a change here too.
    const media = window.matchMedia(lightQuery);
    const onChange = () => setTheme(effectiveTheme());
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, []);
  const next: Theme = theme === 'light' ? 'dark' : 'light';
  return (
    <button
      className="link"
      data-testid="theme-toggle"
      onClick={() => {
        localStorage.setItem(THEME_KEY, next);
        applyStoredTheme();
        setTheme(next);
      }}
    >
      {next === 'light' ? 'Light theme' : 'Dark theme'}
    </button>
  );
}
