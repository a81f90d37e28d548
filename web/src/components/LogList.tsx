import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { levelOf, type LogEntry } from '../api/loki';
import { useTimeZone } from '../shell/preferences';
import { formatTime } from '../shell/timeFormat';
import { levelClass } from './levelClass';
import { detailHeight, RecordDetail } from './RecordDetail';
import { TraceLink } from './TraceLink';

const rowHeight = 22;
const overscanPx = 400;

interface Props {
  entries: LogEntry[];
  /** Changes when a new result starts (not when more of it is loaded): the list then scrolls back to the top. */
  resultId: number;
  onFilter: (name: string, value: string) => void;
  onContext: (entry: LogEntry) => void;
  /** Pins a line to an incident (Explore); no button without it. */
  onPin?: (entry: LogEntry) => void;
}

/**
 * The result list, virtualized: only rows in view are in the DOM, so 100k
 * lines scroll like 100. Rows have fixed heights (an expanded one adds its
 * detail's), so positions are a prefix sum. j/k or arrows move, Enter expands.
 */
export function LogList({ entries, resultId, onFilter, onContext, onPin }: Props) {
  const zone = useTimeZone();
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(600);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState(0);

  useEffect(() => {
    setExpanded(new Set());
    setSelected(0);
    viewport.current?.scrollTo(0, 0);
  }, [resultId]);

  useLayoutEffect(() => {
    const element = viewport.current!;
    const observer = new ResizeObserver(() => setViewHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const offsets = useMemo(() => {
    const result = new Float64Array(entries.length + 1);
    for (let i = 0; i < entries.length; i++)
      result[i + 1] = result[i] + rowHeight + (expanded.has(entries[i].key) ? detailHeight(entries[i]) : 0);
    return result;
  }, [entries, expanded]);

  const firstVisible = (y: number) => {
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (offsets[mid + 1] <= y) low = mid + 1;
      else high = mid;
    }
    return low;
  };

  const toggle = (entry: LogEntry) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(entry.key)) next.delete(entry.key);
      else next.add(entry.key);
      return next;
    });

  const reveal = (index: number) => {
    const element = viewport.current!;
    if (offsets[index] < element.scrollTop) element.scrollTop = offsets[index];
    else if (offsets[index] + rowHeight > element.scrollTop + element.clientHeight)
      element.scrollTop = offsets[index] + rowHeight - element.clientHeight;
  };

  const revealDetail = useRef(false);
  const onKeyDown = (event: KeyboardEvent) => {
    if (entries.length === 0 || event.ctrlKey || event.metaKey || event.altKey) return;
    const move = event.key === 'j' || event.key === 'ArrowDown' ? 1 : event.key === 'k' || event.key === 'ArrowUp' ? -1 : 0;
    if (move) {
      event.preventDefault();
      const next = Math.min(Math.max(selected + move, 0), entries.length - 1);
      setSelected(next);
      reveal(next);
    } else if (event.key === 'Enter' || event.key === 'o') {
      event.preventDefault();
      toggle(entries[selected]);
      revealDetail.current = true;
    }
  };
  const keyHandler = useRef(onKeyDown);
  keyHandler.current = onKeyDown;

  // The keys work from anywhere on the page but a control (typing a query, pressing a button): not only once the list has focus.
  useEffect(() => {
    const onWindowKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (viewport.current?.contains(target)) return;
      if (target !== document.body && target.closest('input, textarea, select, button, a, [contenteditable], [role=dialog]')) return;
      keyHandler.current(event);
    };
    window.addEventListener('keydown', onWindowKey);
    return () => window.removeEventListener('keydown', onWindowKey);
  }, []);

  // An expanded record is scrolled into view whole, as far as the view allows.
  useLayoutEffect(() => {
    if (!revealDetail.current) return;
    revealDetail.current = false;
    const element = viewport.current!;
    const bottom = offsets[selected + 1];
    if (bottom > element.scrollTop + element.clientHeight) element.scrollTop = Math.min(offsets[selected], bottom - element.clientHeight);
  }, [offsets]);

  const from = firstVisible(Math.max(scrollTop - overscanPx, 0));
  const rows = [];
  for (let i = from; i < entries.length && offsets[i] < scrollTop + viewHeight + overscanPx; i++) {
    const entry = entries[i];
    const open = expanded.has(entry.key);
    rows.push(
      <div
        key={entry.key}
        class={`row ${levelClass(levelOf(entry.labels))}${i === selected ? ' selected' : ''}`}
        style={{ top: `${offsets[i]}px` }}
        role="row"
        aria-expanded={open}
        aria-selected={i === selected}
        onClick={() => {
          setSelected(i);
          toggle(entry);
        }}
      >
        <span class="time mono">{formatTime(entry.ms, zone)}</span>
        {entry.labels.service_name && <span class="badge">{entry.labels.service_name}</span>}
        <span class="line mono">{entry.line}</span>
        {entry.labels.trace_id && <TraceLink traceId={entry.labels.trace_id} />}
      </div>,
    );
    if (open) {
      rows.push(
        <div key={`${entry.key}-detail`} class="detail" style={{ top: `${offsets[i] + rowHeight}px`, height: `${detailHeight(entry)}px` }}>
          <RecordDetail entry={entry} onFilter={onFilter} onContext={onContext} onPin={onPin} />
        </div>,
      );
    }
  }

  return (
    <div
      class="viewport"
      ref={viewport}
      tabIndex={0}
      role="grid"
      aria-label="log lines"
      aria-rowcount={entries.length}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div style={{ height: `${offsets[entries.length]}px`, position: 'relative' }}>{rows}</div>
    </div>
  );
}
