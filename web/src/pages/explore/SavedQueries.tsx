import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { useSession } from '../../shell/session';
import { formatTime } from '../../shell/timeFormat';
import { describeRange, type TimeRange } from '../../shell/timeRange';
import type { SavedQueriesResponse, SavedQuery } from '@api/savedQueries';

interface Props {
  query: string;
  range: TimeRange;
  onLoad: (saved: SavedQuery) => void;
}

/** Save the current query and time range under a name, and load or delete saved ones (own, and those shared within the tenant). */
export function SavedQueries({ query, range, onLoad }: Props) {
  const { identity } = useSession();
  const zone = useTimeZone();
  const [open, setOpen] = useState(false);
  const [saved, setSaved] = useState<SavedQuery[]>([]);
  const [name, setName] = useState('');
  const [shared, setShared] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const root = useRef<HTMLDivElement>(null);

  const reload = () =>
    api<SavedQueriesResponse>('/api/v1/saved-queries').then(
      (answer) => setSaved(answer.savedQueries),
      (failure: Error) => setError(failure.message),
    );

  useEffect(() => {
    if (!open) return;
    void reload();
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && setOpen(false);
    const onClick = (event: MouseEvent) => root.current && !root.current.contains(event.target as Node) && setOpen(false);
    window.addEventListener('keydown', onKey);
    window.addEventListener('mousedown', onClick);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api('/api/v1/saved-queries', { method: 'POST', body: { name, query, from: range.from, to: range.to, shared } });
      setName('');
      setShared(false);
      await reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  const remove = async (entry: SavedQuery) => {
    setError(undefined);
    try {
      await api(`/api/v1/saved-queries/${encodeURIComponent(entry.id)}`, { method: 'DELETE' });
      await reload();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return (
    <div class="timerange saved-queries" ref={root}>
      <button type="button" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)}>
        Saved queries
      </button>
      {open && (
        <div class="panel" role="dialog" aria-label="saved queries">
          <form onSubmit={save}>
            <label>
              Save the current query as
              <input
                value={name}
                onInput={(event) => setName(event.currentTarget.value)}
                aria-label="saved query name"
                placeholder="name"
                required
                maxLength={200}
              />
            </label>
            <label class="inline">
              <input type="checkbox" checked={shared} onChange={(event) => setShared(event.currentTarget.checked)} /> shared with the tenant
            </label>
            <button type="submit" class="primary">
              Save
            </button>
            {error && <p class="error">{error}</p>}
          </form>
          <ul aria-label="saved query list">
            {saved.length === 0 && <li class="dim">Nothing saved yet.</li>}
            {saved.map((entry) => (
              <li key={entry.id}>
                <button
                  type="button"
                  class="load"
                  title={entry.query}
                  onClick={() => {
                    onLoad(entry);
                    setOpen(false);
                  }}
                >
                  <strong>{entry.name}</strong>
                  <span class="mono dim">{entry.query}</span>
                  <span class="dim">
                    {describeRange({ from: entry.range_from, to: entry.range_to }, (ms) => formatTime(ms, zone, false))}
                    {entry.shared && ' · shared'}
                    {entry.owner_id !== identity.id && ` · by ${entry.owner_name}`}
                  </span>
                </button>
                {entry.owner_id === identity.id && (
                  <button type="button" class="small ghost" aria-label={`delete ${entry.name}`} onClick={() => remove(entry)}>
                    Delete
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
