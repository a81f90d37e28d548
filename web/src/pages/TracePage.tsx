import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api/client';
import type { PageProps } from '../shell/page';
import { PinDialog } from './incidents/PinDialog';
import { useTimeZone } from '../shell/preferences';
import { formatTime, nsToMs } from '../shell/timeFormat';
import type { TraceLog, TraceResponse, TraceSpan } from '@api/trace';

/** Spans in tree order (parents before children, siblings by start), each with its depth. */
function treeOrder(spans: TraceSpan[]): { span: TraceSpan; depth: number }[] {
  const ids = new Set(spans.map((span) => span.span_id));
  const children = new Map<string, TraceSpan[]>();
  for (const span of spans) {
    const parent = span.parent_span_id && ids.has(span.parent_span_id) ? span.parent_span_id : '';
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const ordered: { span: TraceSpan; depth: number }[] = [];
  const visit = (parent: string, depth: number) => {
    const list = (children.get(parent) ?? []).sort((a, b) => (BigInt(a.start_ns) < BigInt(b.start_ns) ? -1 : 1));
    for (const span of list) {
      ordered.push({ span, depth });
      visit(span.span_id, depth + 1);
    }
  };
  visit('', 0);
  return ordered;
}

/** A span's status as shown beside its name: the error with its message, or OK; nothing for UNSET. */
function statusText(span: TraceSpan): string | undefined {
  const code = span.status_code.toUpperCase().replace('STATUS_CODE_', '');
  if (code.includes('ERROR')) return `ERROR${span.status_message ? `: ${span.status_message}` : ''}`;
  if (code === 'OK') return 'OK';
  return undefined;
}

/** Up to three of a span's attributes, `name=value`, shown in its row (the rest on a click). */
const attributeSummary = (span: TraceSpan) =>
  Object.entries(span.span_attributes)
    .slice(0, 3)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');

const axisFractions = [0, 0.25, 0.5, 0.75, 1];

const formatDuration = (ns: bigint) =>
  ns >= 1_000_000_000n
    ? `${(Number(ns) / 1e9).toFixed(2)} s`
    : ns >= 1_000_000n
      ? `${(Number(ns) / 1e6).toFixed(1)} ms`
      : `${(Number(ns) / 1e3).toFixed(0)} µs`;

/** What a span carries beyond its bar: ids, kind, status, attributes, events. */
function SpanDetail({ span, zone }: { span: TraceSpan; zone: ReturnType<typeof useTimeZone> }) {
  const rows: [string, string][] = [
    ['span_id', span.span_id],
    ['parent_span_id', span.parent_span_id || '(root)'],
    ['kind', span.span_kind],
    ['status', `${span.status_code}${span.status_message ? `: ${span.status_message}` : ''}`],
    ...Object.entries(span.span_attributes).map(([name, value]): [string, string] => [name, value]),
    ...Object.entries(span.resource_attributes).map(([name, value]): [string, string] => [`resource ${name}`, value]),
    ...span.events_name.map((name, i): [string, string] => [`event ${name}`, formatTime(nsToMs(span.events_ns[i]), zone)]),
  ];
  return (
    <table class="span-detail" aria-label={`span ${span.span_name}`}>
      <tbody>
        {rows.map(([name, value]) => (
          <tr key={name}>
            <td class="dim">{name}</td>
            <td class="mono">{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every span and log of a trace: a waterfall with each span's logs beneath it; a click on a span shows its details. */
export function TracePage({ params }: PageProps) {
  const zone = useTimeZone();
  const [trace, setTrace] = useState<TraceResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [pinning, setPinning] = useState(false);
  const toggle = (spanId: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });

  useEffect(() => {
    setTrace(undefined);
    setError(undefined);
    api<TraceResponse>(`/api/v1/traces/${encodeURIComponent(params.traceId)}`)
      .then(setTrace)
      .catch((failure: unknown) => setError(failure instanceof ApiError ? failure.message : String(failure)));
  }, [params.traceId]);

  if (error) return <p class="notice error">{error}</p>;
  if (!trace) return <p class="notice dim">Loading trace {params.traceId}…</p>;

  const starts = [...trace.spans.map((span) => BigInt(span.start_ns)), ...trace.logs.map((log) => BigInt(log.ts))];
  const ends = [...trace.spans.map((span) => BigInt(span.start_ns) + BigInt(span.duration_ns)), ...trace.logs.map((log) => BigInt(log.ts))];
  const t0 = starts.length ? starts.reduce((a, b) => (a < b ? a : b)) : 0n;
  const t1 = ends.length ? ends.reduce((a, b) => (a > b ? a : b)) : 1n;
  const total = Number(t1 - t0) || 1;
  const percent = (ns: bigint) => `${(Number(ns - t0) / total) * 100}%`;
  const spanIds = new Set(trace.spans.map((span) => span.span_id));
  const logsOf = (spanId: string) => trace.logs.filter((log) => log.span_id === spanId);
  const orphanLogs = trace.logs.filter((log) => !spanIds.has(log.span_id));
  const services = new Set([...trace.spans, ...trace.logs].map((item) => item.service_name));

  const logRow = (log: TraceLog, depth: number) => (
    <tr class="log" key={`${log.ts}${log.body}`}>
      <td class="name" style={{ paddingLeft: `${depth * 16 + 22}px` }} title={log.body}>
        <span class={log.severity_text.toLowerCase().startsWith('err') ? 'error' : ''}>{log.severity_text || 'log'}</span> {log.body}
      </td>
      <td class="bar-cell">
        <span class="log-dot" style={{ left: percent(BigInt(log.ts)) }} title={formatTime(nsToMs(log.ts), zone)} />
      </td>
      <td class="duration">{formatTime(nsToMs(log.ts), zone).slice(11)}</td>
    </tr>
  );

  return (
    <div class="trace">
      <h1>
        Trace <span class="mono">{trace.traceId}</span>{' '}
        <button type="button" class="small" onClick={() => setPinning(true)}>
          Pin to incident
        </button>
      </h1>
      {pinning && <PinDialog target={{ kind: 'trace', traceId: trace.traceId }} onClose={() => setPinning(false)} />}
      <p class="dim">
        {trace.spans.length} spans · {trace.logs.length} logs · {services.size} services · {formatDuration(BigInt(total))} · started{' '}
        {formatTime(Number(t0 / 1_000_000n), zone)}
      </p>
      {trace.spans.length === 0 && trace.logs.length === 0 && <p>Nothing stored for this trace id in this tenant.</p>}
      <table class="waterfall" aria-label="waterfall">
        <thead>
          <tr>
            <th class="name">Span</th>
            <th class="bar-cell time-axis" aria-label="time axis">
              {axisFractions.map((fraction) => (
                <span key={fraction} class="tick" style={{ left: `${fraction * 100}%` }}>
                  {formatDuration(BigInt(Math.round(fraction * total)))}
                </span>
              ))}
            </th>
            <th class="duration">Duration</th>
          </tr>
        </thead>
        <tbody>
          {treeOrder(trace.spans).map(({ span, depth }) => {
            const start = BigInt(span.start_ns);
            const duration = BigInt(span.duration_ns);
            const failed = span.status_code.toUpperCase().includes('ERROR');
            const status = statusText(span);
            const attributes = attributeSummary(span);
            return [
              <tr
                key={span.span_id}
                class="span"
                data-span-id={span.span_id}
                tabIndex={0}
                aria-expanded={open.has(span.span_id)}
                onClick={() => toggle(span.span_id)}
                onKeyDown={(event) => (event.key === 'Enter' || event.key === ' ') && (event.preventDefault(), toggle(span.span_id))}
              >
                <td
                  class="name"
                  style={{ paddingLeft: `${depth * 16 + 6}px` }}
                  title={`${span.service_name}: ${span.span_name} (${span.span_kind})${span.status_message ? ` — ${span.status_message}` : ''}`}
                >
                  <span class="badge">{span.service_name}</span> {span.span_name}
                  {status && <span class={`span-status${failed ? ' error' : ''}`}>{status}</span>}
                  {attributes && <span class="span-attributes dim mono">{attributes}</span>}
                </td>
                <td class="bar-cell">
                  <span
                    class={`bar${failed ? ' error' : ''}`}
                    style={{ left: percent(start), width: `${(Number(duration) / total) * 100}%` }}
                  />
                </td>
                <td class="duration">{formatDuration(duration)}</td>
              </tr>,
              open.has(span.span_id) && (
                <tr key={`${span.span_id}-detail`}>
                  <td colSpan={3} style={{ paddingLeft: `${depth * 16 + 22}px` }}>
                    <SpanDetail span={span} zone={zone} />
                  </td>
                </tr>
              ),
              ...logsOf(span.span_id).map((log) => logRow(log, depth + 1)),
            ];
          })}
          {orphanLogs.length > 0 && (
            <tr>
              <td colSpan={3} class="dim">
                Logs of this trace outside any stored span
              </td>
            </tr>
          )}
          {orphanLogs.map((log) => logRow(log, 0))}
        </tbody>
      </table>
    </div>
  );
}
