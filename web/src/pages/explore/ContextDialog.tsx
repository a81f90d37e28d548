import { useEffect, useState } from 'preact/hooks';
import { labelNames, logqlString, queryLogs, type LogEntry } from '../../api/loki';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';

const around = 10;
const window = 3_600_000;

/** The stream a line came from: its labels that are stream labels (not structured metadata). */
async function streamSelector(entry: LogEntry): Promise<string> {
  const streamNames = new Set(await labelNames(entry.ms - window, entry.ms + window));
  const matchers = Object.entries(entry.labels)
    // The level is derived per line, not where a line came from: context shows every level.
    .filter(([name]) => streamNames.has(name) && name !== 'detected_level' && name !== 'level')
    .map(([name, value]) => `${name}=${logqlString(value)}`);
  return `{${matchers.join(', ')}}`;
}

/** Lines just before and after one line, from the same stream. */
export function ContextDialog({ entry, onClose }: { entry: LogEntry; onClose: () => void }) {
  const zone = useTimeZone();
  const [lines, setLines] = useState<LogEntry[] | undefined>();
  const [selector, setSelector] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    void (async () => {
      try {
        const query = await streamSelector(entry);
        setSelector(query);
        const [before, after] = await Promise.all([
          queryLogs(query, entry.ms - window, entry.ms + 1, { limit: around + 1, direction: 'backward' }),
          queryLogs(query, entry.ms, entry.ms + window, { limit: around + 1, direction: 'forward' }),
        ]);
        const seen = new Set<string>();
        const merged = [...before.entries.reverse(), ...after.entries].filter((line) => {
          const id = `${line.tsNs}\u0000${line.line}`;
          return !seen.has(id) && seen.add(id);
        });
        setLines(merged);
      } catch (failure) {
        setError((failure as Error).message);
      }
    })();
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [entry]);

  return (
    <div class="overlay" role="dialog" aria-label="context" onClick={onClose}>
      <div class="dialog" style={{ width: '1100px' }} onClick={(event) => event.stopPropagation()}>
        <h2>
          Context <span class="dim mono">{selector}</span>
        </h2>
        {error && <p class="error">{error}</p>}
        {!lines && !error && <p class="dim">Loading…</p>}
        {lines && (
          <div class="tail-lines">
            {lines.map((line) => (
              <div
                key={`${line.tsNs}${line.line}`}
                style={
                  line.tsNs === entry.tsNs && line.line === entry.line
                    ? { background: 'var(--bg-sunken)', borderLeftColor: 'var(--accent)' }
                    : undefined
                }
              >
                <span class="time">{formatTime(line.ms, zone)}</span>
                {line.line}
              </div>
            ))}
          </div>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
