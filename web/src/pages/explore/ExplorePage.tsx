import { useEffect, useMemo, useState } from 'preact/hooks';
import { apiUrl, ApiError } from '../../api/client';
import { histogramStepSeconds, isLogQuery, logqlString, queryLogs, queryVolume, type LogEntry, type VolumeSeries } from '../../api/loki';
import { copyText } from '../../components/copyText';
import { FieldSidebar } from '../../components/FieldSidebar';
import { LogList } from '../../components/LogList';
import { LogqlEditor } from '../../components/LogqlEditor';
import { TimeRangePicker } from '../../components/TimeRangePicker';
import { VolumeHistogram } from '../../components/VolumeHistogram';
import type { PageProps } from '../../shell/page';
import { useQueryState } from '../../shell/router';
import { defaultRange, msToNs, resolveRange, type TimeRange } from '../../shell/timeRange';
import { ContextDialog } from './ContextDialog';

const defaultQuery = '{service_name=~".+"}';
const limits = [100, 1000, 5000];

interface Results {
  entries: LogEntry[];
  volume: VolumeSeries[];
  stepSeconds: number;
  startMs: number;
  endMs: number;
  execSeconds: number;
}

/** Explore: query, volume by level, the lines, their fields. Everything that defines a view is in the URL. */
export function ExplorePage(_props: PageProps) {
  const [params, setParams] = useQueryState();
  const query = params.get('q') ?? defaultQuery;
  const range: TimeRange = { from: params.get('from') ?? defaultRange.from, to: params.get('to') ?? defaultRange.to };
  const limit = Number(params.get('limit') ?? 1000);
  const [draft, setDraft] = useState(query);
  const [results, setResults] = useState<Results | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [context, setContext] = useState<LogEntry | undefined>();
  const [runCount, setRunCount] = useState(0);
  const [shared, setShared] = useState(false);
  const resolved = useMemo(() => resolveRange(range), [range.from, range.to, runCount]);

  useEffect(() => setDraft(query), [query]);

  useEffect(() => {
    const controller = new AbortController();
    const { startMs, endMs } = resolved;
    setLoading(true);
    setError(undefined);
    void (async () => {
      try {
        const stepSeconds = histogramStepSeconds(startMs, endMs);
        const logQuery = isLogQuery(query);
        const [logs, volume] = await Promise.all([
          logQuery ? queryLogs(query, startMs, endMs, { limit, signal: controller.signal }) : Promise.resolve({ entries: [], execSeconds: 0, linesProcessed: 0 }),
          logQuery ? queryVolume(query, startMs, endMs, stepSeconds, controller.signal) : Promise.resolve([]),
        ]);
        setResults({ entries: logs.entries, volume, stepSeconds, startMs, endMs, execSeconds: logs.execSeconds });
        if (!logQuery) setError('Explore lists log queries: start the query with a {selector}.');
      } catch (failure) {
        if (controller.signal.aborted) return;
        setError(failure instanceof ApiError ? failure.message : (failure as Error).message);
      } finally {
        if (!controller.signal.aborted) setLoading(false);
      }
    })();
    return () => controller.abort();
  }, [query, resolved, limit]);

  const run = (next = draft) => {
    if (next === query) setRunCount((count) => count + 1);
    else setParams({ q: next }, { push: true });
  };
  const setRange = (next: TimeRange) => setParams({ from: next.from, to: next.to }, { push: true });
  const addFilter = (name: string, value: string) => run(`${query.trim()} | ${name}=${logqlString(value)}`);
  const exportUrl = (format: 'ndjson' | 'csv') => apiUrl('/api/v1/export', { query, start: msToNs(resolved.startMs), end: msToNs(resolved.endMs), limit, format });

  return (
    <>
      <div class="toolbar">
        <LogqlEditor value={draft} onChange={setDraft} onRun={() => run()} error={error} range={resolved} />
        <TimeRangePicker range={range} onChange={setRange} />
        <select aria-label="line limit" value={String(limit)} onChange={(event) => setParams({ limit: event.currentTarget.value })}>
          {limits.map((value) => (
            <option key={value} value={value}>
              {value} lines
            </option>
          ))}
        </select>
        <button type="button" class="primary" onClick={() => run()} disabled={loading}>
          {loading ? 'Running…' : 'Run'}
        </button>
      </div>
      <div class="explore">
        <FieldSidebar entries={results?.entries ?? []} onFilter={addFilter} />
        <section class="results" aria-label="results">
          {results && <VolumeHistogram series={results.volume} startMs={results.startMs} endMs={results.endMs} stepSeconds={results.stepSeconds} onBrush={(startMs, endMs) => setRange({ from: String(startMs), to: String(endMs) })} />}
          <div class="summary">
            <span role="status">{results ? `${results.entries.length} lines${results.entries.length === limit ? ' (limit reached)' : ''} · ${results.execSeconds.toFixed(3)} s` : loading ? 'Running…' : ''}</span>
            <span class="spacer" />
            <button
              type="button"
              class="small"
              onClick={async () => {
                await copyText(location.href);
                setShared(true);
                setTimeout(() => setShared(false), 2000);
              }}
            >
              {shared ? 'Link copied' : 'Share link'}
            </button>
            <a class="small" href={exportUrl('ndjson')} download>
              Export NDJSON
            </a>
            <a class="small" href={exportUrl('csv')} download>
              Export CSV
            </a>
          </div>
          <LogList entries={results?.entries ?? []} onFilter={addFilter} onContext={setContext} />
        </section>
      </div>
      {context && <ContextDialog entry={context} onClose={() => setContext(undefined)} />}
    </>
  );
}
