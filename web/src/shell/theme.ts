export type Theme = 'dark' | 'light';

const storageKey = 'meshlog.theme';

export function initialTheme(): Theme {
  const saved = localStorage.getItem(storageKey);
  if (saved === 'dark' || saved === 'light') return saved;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem(storageKey, theme);
}
