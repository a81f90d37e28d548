import { useState } from 'preact/hooks';
import type { LogEntry } from '../api/loki';
import { useTimeZone } from '../shell/preferences';
import { formatTime } from '../shell/timeFormat';
import { copyText } from './copyText';
import { TraceLink } from './TraceLink';

/** Heights the virtual list lays out by: a detail is actions + body + one row per field. */
export const detailActionsHeight = 26;
export const detailBodyHeight = 64;
export const detailFieldHeight = 20;
export const detailPadding = 12;

export function detailHeight(entry: LogEntry): number {
  return detailActionsHeight + detailBodyHeight + detailFieldHeight * (Object.keys(entry.labels).length + 1) + detailPadding;
}

export const recordJson = (entry: LogEntry) => JSON.stringify({ timestamp: entry.tsNs, line: entry.line, labels: entry.labels }, null, 2);

interface Props {
  entry: LogEntry;
  onFilter: (name: string, value: string) => void;
  onContext: (entry: LogEntry) => void;
  onPin?: (entry: LogEntry) => void;
}

/** Every field of one record, with copy as JSON, show context and a filter per field. */
export function RecordDetail({ entry, onFilter, onContext, onPin }: Props) {
  const zone = useTimeZone();
  const [copied, setCopied] = useState(false);
  const names = Object.keys(entry.labels).sort();
  return (
    <div onClick={(event) => event.stopPropagation()}>
      <div class="actions">
        <button
          type="button"
          class="small"
          onClick={async () => {
            await copyText(recordJson(entry));
            setCopied(true);
          }}
        >
          {copied ? 'Copied' : 'Copy as JSON'}
        </button>
        <button type="button" class="small" onClick={() => onContext(entry)}>
          Show context
        </button>
        {onPin && (
          <button type="button" class="small" onClick={() => onPin(entry)}>
            Pin to incident
          </button>
        )}
      </div>
      <pre
        class="mono"
        style={{ height: `${detailBodyHeight - 8}px`, overflow: 'auto', margin: '0 0 8px', whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}
      >
        {entry.line}
      </pre>
      <table aria-label="fields">
        <tbody>
          <tr>
            <td>timestamp</td>
            <td class="mono">
              {formatTime(entry.ms, zone)} <span class="dim">({entry.tsNs} ns)</span>
            </td>
          </tr>
          {names.map((name) => (
            <tr key={name}>
              <td>{name}</td>
              <td class="mono">
                {name === 'trace_id' ? <TraceLink traceId={entry.labels[name]} /> : entry.labels[name]}{' '}
                <button
                  type="button"
                  class="small ghost"
                  title={`filter ${name} = this value`}
                  onClick={() => onFilter(name, entry.labels[name])}
                >
                  ⊕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
