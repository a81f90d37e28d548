import { useEffect, useState } from 'preact/hooks';
import { api, type RequestOptions } from '../../api/client';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** A GET of one API path, loaded when its inputs change and again on reload(). */
export function useApi<T>(path: string | undefined, query?: RequestOptions['query']): Loaded<T> {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify(query ?? {});
  useEffect(() => {
    if (!path) return;
    const controller = new AbortController();
    setLoading(true);
    api<T>(path, { query, signal: controller.signal }).then(
      (value) => {
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure: Error) => {
        if (controller.signal.aborted) return;
        setError(failure.message);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [path, key, generation]);
  return { data, error, loading, reload: () => setGeneration((value) => value + 1) };
}
