import { useEffect, useRef, useState } from 'preact/hooks';
import { useTimeZone } from '../shell/preferences';
import { formatTime } from '../shell/timeFormat';
import { describeRange, presets, resolveTime, type TimeRange } from '../shell/timeRange';

/** `2026-11-25T14:03` for a datetime-local input, in the chosen zone. */
function inputValue(ms: number, utc: boolean): string {
  return formatTime(ms, utc ? 'utc' : 'local', false)
    .replace(' ', 'T')
    .slice(0, 16);
}

function parseInput(value: string, utc: boolean): number {
  return utc ? Date.parse(`${value}:00Z`) : new Date(value).getTime();
}

/** Relative presets and absolute from/to, in the time zone the header selects. */
export function TimeRangePicker({ range, onChange }: { range: TimeRange; onChange: (range: TimeRange) => void }) {
  const zone = useTimeZone();
  const utc = zone === 'utc';
  const [open, setOpen] = useState(false);
  const now = Date.now();
  const [from, setFrom] = useState(inputValue(resolveTime(range.from, now), utc));
  const [to, setTo] = useState(inputValue(resolveTime(range.to, now), utc));
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const current = Date.now();
    setFrom(inputValue(resolveTime(range.from, current), utc));
    setTo(inputValue(resolveTime(range.to, current), utc));
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && setOpen(false);
    const onClick = (event: MouseEvent) => root.current && !root.current.contains(event.target as Node) && setOpen(false);
    window.addEventListener('keydown', onKey);
    window.addEventListener('mousedown', onClick);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const applyAbsolute = (event: Event) => {
    event.preventDefault();
    const fromMs = parseInput(from, utc);
    const toMs = parseInput(to, utc);
    if (!(fromMs < toMs)) return;
    onChange({ from: String(fromMs), to: String(toMs) });
    setOpen(false);
  };

  return (
    <div class="timerange" ref={root}>
      <button type="button" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)}>
        {describeRange(range, (ms) => formatTime(ms, zone, false))}
      </button>
      {open && (
        <div class="panel" role="dialog" aria-label="time range">
          <form onSubmit={applyAbsolute}>
            <label>
              From ({utc ? 'UTC' : 'local'})
              <input type="datetime-local" value={from} onInput={(event) => setFrom(event.currentTarget.value)} aria-label="from" />
            </label>
            <label>
              To ({utc ? 'UTC' : 'local'})
              <input type="datetime-local" value={to} onInput={(event) => setTo(event.currentTarget.value)} aria-label="to" />
            </label>
            <button type="submit" class="primary">
              Apply
            </button>
          </form>
          <div class="presets">
            {presets.map((preset) => (
              <button
                type="button"
                key={preset.from}
                onClick={() => {
                  onChange({ from: preset.from, to: 'now' });
                  setOpen(false);
                }}
              >
                {preset.label}
              </button>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
