import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../shell/page';

/**
 * A page whose code is fetched the first time it is opened, so pages most
 * sessions never visit (alerts, compliance, admin) stay out of the first load.
 */
export function lazyPage(load: () => Promise<ComponentType<PageProps>>): ComponentType<PageProps> {
  let loaded: ComponentType<PageProps> | undefined;
  return function LazyPage(props: PageProps) {
    const [Page, setPage] = useState(() => loaded);
    const [error, setError] = useState<string | undefined>();
    useEffect(() => {
      if (Page) return;
      load().then(
        (component) => {
          loaded = component;
          setPage(() => component);
        },
        (failure: Error) => setError(failure.message),
      );
    }, []);
    if (error) return <p class="notice error">Could not load the page: {error}</p>;
    return Page ? <Page {...props} /> : <p class="notice dim">Loading…</p>;
  };
}
