import { useEffect, useState } from 'preact/hooks';
import { withTenant } from './tenant';

/** Every page lives under /ui/; the server answers each such path with index.html. */
export const uiBase = '/ui';

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());
window.addEventListener('popstate', notify);

/** Goes to a page (pushes history) or rewrites the current entry (replace: URL state that should not pile up). */
export function navigate(target: string, options: { replace?: boolean } = {}): void {
  const to = withTenant(target);
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** The current URL; re-renders on every navigation. */
export function useLocation(): Location {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((version) => version + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** `/ui/trace/:traceId` against a path: the named parts, or undefined when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return undefined;
  }
  return params;
}

/** State kept in the URL's query string (share links): read it, and patch it without a new history entry. */
export function useQueryState(): [URLSearchParams, (patch: Record<string, string | undefined>, options?: { push?: boolean }) => void] {
  const { query } = useLocation();
  const update = (patch: Record<string, string | undefined>, options: { push?: boolean } = {}) => {
    const next = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || value === '') next.delete(key);
      else next.set(key, value);
    }
    const search = next.toString();
    navigate(`${location.pathname}${search ? `?${search}` : ''}`, { replace: !options.push });
  };
  return [query, update];
}
