import { useEffect, useState } from 'preact/hooks';
import type { PageDefinition } from './page';
import { navigate } from './router';

const typing = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

/** `g` + a page's key goes to it, `?` opens the shortcut list, Esc closes it. */
export function useShortcuts(pages: PageDefinition[]): [boolean, (show: boolean) => void] {
  const [showHelp, setShowHelp] = useState(false);
  useEffect(() => {
    let leader = false;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setShowHelp(false);
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (leader) {
        leader = false;
        const page = pages.find((candidate) => candidate.shortcut === event.key);
        if (page) {
          event.preventDefault();
          navigate(page.path);
        }
        return;
      }
      if (event.key === 'g') leader = true;
      else if (event.key === '?') setShowHelp(true);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [pages.map((page) => page.id).join()]);
  return [showHelp, setShowHelp];
}
