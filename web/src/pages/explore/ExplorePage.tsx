import { useEffect, useMemo, useState } from 'preact/hooks';
import { apiUrl, ApiError } from '../../api/client';
import {
  histogramStepSeconds,
  isLogQuery,
  logqlString,
  queryLogPages,
  queryMetric,
  queryOlderLogs,
  queryVolume,
  type LogEntry,
  type MetricSeries,
  type VolumeSeries,
} from '../../api/loki';
import { MetricChart } from '../../components/MetricChart';
import { copyText } from '../../components/copyText';
import { FieldSidebar } from '../../components/FieldSidebar';
import { LogList } from '../../components/LogList';
import { LogqlEditor } from '../../components/LogqlEditor';
import { TimeRangePicker } from '../../components/TimeRangePicker';
import { VolumeHistogram } from '../../components/VolumeHistogram';
import type { PageProps } from '../../shell/page';
import { useQueryState } from '../../shell/router';
import { useSession } from '../../shell/session';
import { tenantQuery } from '../../shell/tenant';
import { defaultRange, msToNs, resolveRange, zoomedOut, type TimeRange } from '../../shell/timeRange';
import { ContextDialog } from './ContextDialog';
import { PinDialog, type PinTarget } from '../incidents/PinDialog';
import { SavedQueries } from './SavedQueries';

const defaultQuery = '{service_name=~".+"}';
const limits = [100, 1000, 5000, 20_000, 100_000];
let runs = 0;

interface Results {
  /** Which run these are: more pages of one run keep the list where it is scrolled. */
  runId: number;
  entries: LogEntry[];
  /** More pages are still being fetched. */
  partial: boolean;
  volume: VolumeSeries[];
  stepSeconds: number;
  startMs: number;
  endMs: number;
  execSeconds: number;
  /** Lines added by "load older lines", past the limit; `noOlder` once the range has none left. */
  older?: number;
  noOlder?: boolean;
  /** A metric query's series, graphed instead of lines. */
  metric?: MetricSeries[];
}

/** Explore: query, volume by level, the lines, their fields. Everything that defines a view is in the URL. */
export function ExplorePage(_props: PageProps) {
  const [params, setParams] = useQueryState();
  const { maxLinesPerQuery } = useSession();
  const query = params.get('q') ?? defaultQuery;
  const range: TimeRange = { from: params.get('from') ?? defaultRange.from, to: params.get('to') ?? defaultRange.to };
  const limit = Number(params.get('limit') ?? 1000);
  const [draft, setDraft] = useState(query);
  const [results, setResults] = useState<Results | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [context, setContext] = useState<LogEntry | undefined>();
  const [pinning, setPinning] = useState<PinTarget | undefined>();
  const [runCount, setRunCount] = useState(0);
  const [shared, setShared] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const resolved = useMemo(() => resolveRange(range), [range.from, range.to, runCount]);

  useEffect(() => setDraft(query), [query]);

  useEffect(() => {
    const controller = new AbortController();
    const { startMs, endMs } = resolved;
    const runId = ++runs;
    setLoading(true);
    setError(undefined);
    void (async () => {
      try {
        const stepSeconds = histogramStepSeconds(startMs, endMs);
        const logQuery = isLogQuery(query);
        if (!logQuery) {
          // About 200 points across the range, as Grafana picks a step for the panel's width.
          const metricStep = histogramStepSeconds(startMs, endMs, 200);
          const metric = await queryMetric(query, startMs, endMs, metricStep, controller.signal);
          setResults({
            runId,
            entries: [],
            partial: false,
            volume: [],
            stepSeconds: metricStep,
            startMs,
            endMs,
            execSeconds: metric.execSeconds,
            metric: metric.series,
          });
          return;
        }
        let shown: Results = { runId, entries: [], partial: true, volume: [], stepSeconds, startMs, endMs, execSeconds: 0 };
        const volume = queryVolume(query, startMs, endMs, stepSeconds, controller.signal);
        // The histogram is drawn as soon as it is known, while lines are still coming; its failure is reported below.
        volume.then(
          (series) => {
            if (controller.signal.aborted) return;
            shown = { ...shown, volume: series };
            setResults(shown);
          },
          () => undefined,
        );
        // Past the server's per-query cap the lines come in pages; the list shows each as it arrives.
        const logs = await queryLogPages(query, startMs, endMs, {
          limit,
          pageSize: Math.min(maxLinesPerQuery, limit),
          signal: controller.signal,
          onPage: (page) => {
            if (controller.signal.aborted) return;
            shown = { ...shown, entries: page.entries, execSeconds: page.execSeconds };
            setResults(shown);
          },
        });
        setResults({ ...shown, entries: logs.entries, execSeconds: logs.execSeconds, partial: false, volume: await volume });
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
  const loadOlder = async () => {
    if (!results || results.entries.length === 0) return;
    setLoadingOlder(true);
    try {
      const more = await queryOlderLogs(query, results.startMs, results.entries, {
        count: limit,
        pageSize: Math.min(maxLinesPerQuery, limit),
      });
      setResults({
        ...results,
        entries: [...results.entries, ...more.entries],
        older: (results.older ?? 0) + more.entries.length,
        noOlder: more.entries.length < limit,
        execSeconds: results.execSeconds + more.execSeconds,
      });
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setLoadingOlder(false);
    }
  };
  const addFilter = (name: string, value: string) => run(`${query.trim()} | ${name}=${logqlString(value)}`);
  const exportUrl = (format: 'ndjson' | 'csv') =>
    apiUrl('/api/v1/export', { query, start: msToNs(resolved.startMs), end: msToNs(resolved.endMs), limit, format, ...tenantQuery() });

  return (
    <>
      <div class="toolbar">
        <LogqlEditor value={draft} onChange={setDraft} onRun={() => run()} error={error} range={resolved} />
        <TimeRangePicker range={range} onChange={setRange} />
        <button type="button" onClick={() => setRange(zoomedOut(range))} title="twice the range (ctrl+z in Grafana)">
          Zoom out
        </button>
        <select aria-label="line limit" value={String(limit)} onChange={(event) => setParams({ limit: event.currentTarget.value })}>
          {limits.map((value) => (
            <option key={value} value={value}>
              {value.toLocaleString('en')} lines
            </option>
          ))}
        </select>
        <button type="button" class="primary" onClick={() => run()} disabled={loading}>
          {loading ? 'Running…' : 'Run'}
        </button>
        <SavedQueries
          query={query}
          range={range}
          onLoad={(saved) => setParams({ q: saved.query, from: saved.range_from, to: saved.range_to }, { push: true })}
        />
      </div>
      <div class="explore">
        <FieldSidebar entries={results?.entries ?? []} onFilter={addFilter} />
        <section class="results" aria-label="results">
          {results?.metric ? (
            <>
              <div class="summary">
                <span role="status">{metricSummaryOf(results.metric, results)}</span>
              </div>
              <MetricChart series={results.metric} startMs={results.startMs} endMs={results.endMs} stepSeconds={results.stepSeconds} />
            </>
          ) : (
            <>
              {results && (
                <VolumeHistogram
                  series={results.volume}
                  startMs={results.startMs}
                  endMs={results.endMs}
                  stepSeconds={results.stepSeconds}
                  onBrush={(startMs, endMs) => setRange({ from: String(startMs), to: String(endMs) })}
                />
              )}
              <div class="summary">
                <span role="status">{results ? summaryOf(results, limit) : loading ? 'Running…' : ''}</span>
                {results && !results.partial && results.entries.length >= limit && !results.noOlder && (
                  <button type="button" class="small" onClick={loadOlder} disabled={loadingOlder}>
                    {loadingOlder ? 'Loading older lines…' : `Load ${limit.toLocaleString('en')} older lines`}
                  </button>
                )}
                {results?.noOlder && <span class="dim">no older lines in this range</span>}
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
                <button
                  type="button"
                  class="small"
                  onClick={() =>
                    setPinning({
                      kind: 'query',
                      query,
                      from: new Date(resolved.startMs).toISOString(),
                      to: new Date(resolved.endMs).toISOString(),
                    })
                  }
                >
                  Pin query
                </button>
                <a class="small" href={exportUrl('ndjson')} download>
                  Export NDJSON
                </a>
                <a class="small" href={exportUrl('csv')} download>
                  Export CSV
                </a>
              </div>
              <LogList
                entries={results?.entries ?? []}
                resultId={results?.runId ?? 0}
                onFilter={addFilter}
                onContext={setContext}
                onPin={(entry) => setPinning({ kind: 'line', entry })}
              />
            </>
          )}
        </section>
      </div>
      {context && <ContextDialog entry={context} onClose={() => setContext(undefined)} />}
      {pinning && <PinDialog target={pinning} onClose={() => setPinning(undefined)} />}
    </>
  );
}

function metricSummaryOf(series: MetricSeries[], results: Results): string {
  return `${series.length} series · step ${results.stepSeconds} s · ${results.execSeconds.toFixed(3)} s`;
}

function summaryOf(results: Results, limit: number): string {
  const count = results.entries.length.toLocaleString('en');
  if (results.partial) return `${count} of up to ${limit.toLocaleString('en')} lines, loading…`;
  const reached =
    results.older === undefined
      ? results.entries.length === limit
        ? ' (limit reached)'
        : ''
      : ` (${results.older.toLocaleString('en')} older loaded)`;
  return `${count} lines${reached} · ${results.execSeconds.toFixed(3)} s`;
}
