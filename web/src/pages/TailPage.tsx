import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { levelOf } from '../api/loki';
import { levelClass } from '../components/levelClass';
import { LogqlEditor } from '../components/LogqlEditor';
import { TraceLink } from '../components/TraceLink';
import type { PageProps } from '../shell/page';
import { useTimeZone } from '../shell/preferences';
import { useQueryState } from '../shell/router';
import { tenantQuery } from '../shell/tenant';
import { PinDialog } from './incidents/PinDialog';
import type { TailFrame } from '@api/tail';
import { formatTime, nsToMs } from '../shell/timeFormat';

interface TailLine {
  id: number;
  tsNs: string;
  line: string;
  labels: Record<string, string>;
}

const keptLines = 2000;
const rateWindowSeconds = 5;

/** Text with every occurrence of `needle` marked. */
function Highlighted({ text, needle }: { text: string; needle: string }) {
  if (!needle) return <>{text}</>;
  const parts: (string | preact.JSX.Element)[] = [];
  const lower = text.toLowerCase();
  const want = needle.toLowerCase();
  let at = 0;
  for (let found = lower.indexOf(want); found >= 0; found = lower.indexOf(want, at)) {
    parts.push(text.slice(at, found), <mark key={found}>{text.slice(found, found + needle.length)}</mark>);
    at = found + needle.length;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

const byTime = (a: TailLine, b: TailLine) => (BigInt(a.tsNs) < BigInt(b.tsNs) ? -1 : BigInt(a.tsNs) > BigInt(b.tsNs) ? 1 : 0);

/**
 * `shown` with `received` merged in by timestamp, the newest `keptLines`.
 * A frame groups its lines by stream, and a shipper's batch can reach the
 * server after a newer one: each line is placed where its time puts it
 * (nearly always at the end, so this is cheap).
 */
function inTimeOrder(shown: TailLine[], received: TailLine[]): TailLine[] {
  const merged = shown.slice();
  for (const line of received.slice().sort(byTime)) {
    let at = merged.length;
    while (at > 0 && byTime(merged[at - 1], line) > 0) at--;
    merged.splice(at, 0, line);
  }
  return merged.slice(-keptLines);
}

/** The tail's query string; the tenant rides along because a browser's WebSocket cannot send X-Scope-OrgID as a header. */
function tailParams(query: string): URLSearchParams {
  return new URLSearchParams({ query, limit: '100', ...tenantQuery() });
}

/** Live tail over Loki's tail WebSocket: pause, highlight, and how many lines a second arrive. */
export function TailPage(_props: PageProps) {
  const zone = useTimeZone();
  const [params, setParams] = useQueryState();
  const query = params.get('q') ?? '{service_name=~".+"}';
  const [draft, setDraft] = useState(query);
  const [lines, setLines] = useState<TailLine[]>([]);
  const [paused, setPaused] = useState(false);
  const [pending, setPending] = useState<TailLine[]>([]);
  const [highlight, setHighlight] = useState(params.get('highlight') ?? '');
  const [status, setStatus] = useState<'connecting' | 'live' | 'closed'>('connecting');
  const [error, setError] = useState<string | undefined>();
  const [rate, setRate] = useState(0);
  const [dropped, setDropped] = useState(0);
  const [pinning, setPinning] = useState<TailLine | undefined>();
  const arrivals = useRef<number[]>([]);
  const pausedRef = useRef(paused);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const nextId = useRef(0);
  pausedRef.current = paused;

  useEffect(() => {
    setLines([]);
    setPending([]);
    setError(undefined);
    setStatus('connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/loki/api/v1/tail?${tailParams(query)}`;
    const socket = new WebSocket(url);
    socket.onopen = () => setStatus('live');
    socket.onclose = (event) => {
      setStatus('closed');
      if (event.code !== 1000 && event.code !== 1005) setError(event.reason || 'the tail connection closed: check the query');
    };
    socket.onerror = () => setError('the tail could not be opened: check the query (a selector such as {service_name="cart"})');
    socket.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as TailFrame;
      const received: TailLine[] = [];
      for (const stream of frame.streams)
        for (const [tsNs, line] of stream.values) received.push({ id: 0, tsNs, line, labels: stream.stream });
      for (const line of received) line.id = nextId.current++;
      if (frame.dropped_lines) setDropped((count) => count + frame.dropped_lines!);
      const now = Date.now();
      for (let i = 0; i < received.length; i++) arrivals.current.push(now);
      if (pausedRef.current) setPending((current) => inTimeOrder(current, received));
      else setLines((current) => inTimeOrder(current, received));
    };
    return () => socket.close(1000);
  }, [query]);

  // The rate is counted over the last few seconds of arrivals.
  useEffect(() => {
    const timer = setInterval(() => {
      const since = Date.now() - rateWindowSeconds * 1000;
      arrivals.current = arrivals.current.filter((at) => at >= since);
      setRate(arrivals.current.length / rateWindowSeconds);
    }, 1000);
    return () => clearInterval(timer);
  }, []);

  useLayoutEffect(() => {
    if (stick.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);

  const resume = () => {
    setLines((current) => inTimeOrder(current, pending));
    setPending([]);
    setPaused(false);
  };

  return (
    <>
      <div class="toolbar">
        <LogqlEditor
          value={draft}
          onChange={setDraft}
          onRun={() => setParams({ q: draft }, { push: true })}
          error={error}
          range={{ startMs: Date.now() - 3_600_000, endMs: Date.now() }}
        />
        <button type="button" class="primary" onClick={() => setParams({ q: draft }, { push: true })}>
          Tail
        </button>
        <button type="button" onClick={() => (paused ? resume() : setPaused(true))} aria-pressed={paused}>
          {paused ? `Resume (${pending.length} new)` : 'Pause'}
        </button>
        <input
          type="search"
          placeholder="highlight"
          aria-label="highlight"
          value={highlight}
          onInput={(event) => setHighlight(event.currentTarget.value)}
        />
      </div>
      <div class="summary">
        <span class={`badge ${status === 'live' && !paused ? 'live' : ''}`}>{paused ? 'paused' : status}</span>
        <span class="rate" aria-label="rate">
          {rate.toFixed(1)} lines/s
        </span>
        <span>{lines.length} shown</span>
        {dropped > 0 && <span class="error">{dropped} dropped (the reader fell behind)</span>}
        <span class="spacer" />
        <button type="button" class="small" onClick={() => setLines([])}>
          Clear
        </button>
      </div>
      <div
        class="tail-lines"
        ref={box}
        role="log"
        aria-live="off"
        aria-label="live lines"
        onScroll={(event) => {
          const element = event.currentTarget;
          stick.current = element.scrollHeight - element.scrollTop - element.clientHeight < 30;
        }}
      >
        {lines.map((line) => {
          const level = levelOf(line.labels);
          return (
            <div key={line.id} class={levelClass(level)} data-level={level || undefined}>
              <span class="time">{formatTime(nsToMs(line.tsNs), zone)}</span>
              {line.labels.service_name && <span class="badge">{line.labels.service_name}</span>}{' '}
              <Highlighted text={line.line} needle={highlight} /> {line.labels.trace_id && <TraceLink traceId={line.labels.trace_id} />}{' '}
              <button
                type="button"
                class="small ghost pin"
                title="pin this line to an incident"
                aria-label="pin to incident"
                onClick={() => setPinning(line)}
              >
                Pin
              </button>
            </div>
          );
        })}
      </div>
      {pinning && <PinDialog target={{ kind: 'line', entry: pinning }} onClose={() => setPinning(undefined)} />}
    </>
  );
}
