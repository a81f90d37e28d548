import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api/client';
import { Link } from '../../shell/Link';
import type { IncidentResponse, IncidentsResponse, IncidentSummary } from '@api/incidents';

/** A line as Explore and tail show it. */
export interface PinnedLine {
  tsNs: string;
  line: string;
  labels: Record<string, string>;
}

/**
 * What can be pinned: a line (held from retention with its seal), a query
 * with its range, a trace, or a mined pattern of a service.
 */
export type PinTarget =
  | { kind: 'line'; entry: PinnedLine }
  | { kind: 'query'; query: string; from: string; to: string }
  | { kind: 'trace'; traceId: string }
  | { kind: 'pattern'; service: string; pattern: string };

function pinBody(target: PinTarget, note: string): Record<string, string> {
  const withNote: Record<string, string> = note ? { note } : {};
  switch (target.kind) {
    case 'line':
      return {
        kind: 'line',
        timestamp_ns: target.entry.tsNs,
        line: target.entry.line,
        ...(target.entry.labels.service_name ? { service: target.entry.labels.service_name } : {}),
        ...withNote,
      };
    case 'query':
      return { kind: 'query', query: target.query, from: target.from, to: target.to, ...withNote };
    case 'trace':
      return { kind: 'trace', trace_id: target.traceId, ...withNote };
    case 'pattern':
      return { kind: 'pattern', service: target.service, pattern: target.pattern, ...withNote };
  }
}

function pinText(target: PinTarget): string {
  switch (target.kind) {
    case 'line':
      return target.entry.line;
    case 'query':
      return `${target.query}\n${target.from} – ${target.to}`;
    case 'trace':
      return `trace ${target.traceId}`;
    case 'pattern':
      return `${target.service}: ${target.pattern}`;
  }
}

/** Pins a line, query, trace or pattern to an incident not yet resolved, or to a new one opened here. */
export function PinDialog({ target, onClose }: { target: PinTarget; onClose: () => void }) {
  const [incidents, setIncidents] = useState<IncidentSummary[] | undefined>();
  const [chosen, setChosen] = useState('');
  const [title, setTitle] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const [pinned, setPinned] = useState<IncidentSummary | undefined>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<IncidentsResponse>('/api/v1/incidents').then(
      ({ incidents: all }) => {
        const active = all.filter((incident) => incident.state !== 'resolved');
        setIncidents(active);
        setChosen(active[0]?.id ?? 'new');
      },
      (failure: Error) => setError(failure.message),
    );
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const pin = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      let id = chosen;
      if (id === 'new')
        id = (await api<IncidentResponse>('/api/v1/incidents', { method: 'POST', body: { title, severity: 'high' } })).incident.id;
      setPinned(
        (
          await api<IncidentResponse>(`/api/v1/incidents/${encodeURIComponent(id)}/pins`, {
            method: 'POST',
            body: pinBody(target, note),
          })
        ).incident,
      );
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="overlay" role="dialog" aria-label="pin to incident" onClick={onClose}>
      <div class="dialog" style={{ width: '640px' }} onClick={(event) => event.stopPropagation()}>
        <h2>Pin {target.kind} to an incident</h2>
        <pre class="mono" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', maxHeight: '120px', overflow: 'auto' }}>
          {pinText(target)}
        </pre>
        {pinned ? (
          <p role="status">
            Pinned to <Link href={`/ui/incidents/${pinned.id}`}>{pinned.title}</Link> ({pinned.id})
            {target.kind === 'line' ? ': the record is held from retention while the incident is open.' : '.'}
          </p>
        ) : (
          <form onSubmit={pin}>
            {!incidents && !error && <p class="dim">Loading incidents…</p>}
            {incidents && (
              <label>
                Incident{' '}
                <select aria-label="incident" value={chosen} onChange={(event) => setChosen(event.currentTarget.value)}>
                  {incidents.map((incident) => (
                    <option key={incident.id} value={incident.id}>
                      {incident.title} ({incident.id}, {incident.state})
                    </option>
                  ))}
                  <option value="new">A new incident…</option>
                </select>
              </label>
            )}
            {chosen === 'new' && (
              <label>
                {' '}
                Title{' '}
                <input
                  aria-label="new incident title"
                  value={title}
                  onInput={(event) => setTitle(event.currentTarget.value)}
                  required
                  maxLength={200}
                  size={40}
                />
              </label>
            )}
            <p>
              <input
                aria-label="pin note"
                placeholder="why it matters (optional)"
                value={note}
                onInput={(event) => setNote(event.currentTarget.value)}
                maxLength={2000}
                style={{ width: '100%' }}
              />
            </p>
            <button type="submit" class="primary" disabled={busy || !incidents}>
              Pin
            </button>
          </form>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
