import { useRef, useState } from 'preact/hooks';
import type { VolumeSeries } from '../api/loki';
import { useTimeZone } from '../shell/preferences';
import { formatTime } from '../shell/timeFormat';

const levelOrder = ['error', 'fatal', 'critical', 'warn', 'warning', 'info', 'debug', 'trace', ''];
const levelColor = (level: string) =>
  ({
    error: 'var(--level-error)',
    fatal: 'var(--level-error)',
    critical: 'var(--level-error)',
    warn: 'var(--level-warn)',
    warning: 'var(--level-warn)',
    info: 'var(--level-info)',
    debug: 'var(--level-debug)',
  })[level] ?? 'var(--level-other)';

interface Props {
  series: VolumeSeries[];
  startMs: number;
  endMs: number;
  stepSeconds: number;
  /** A dragged selection: zoom to it. */
  onBrush: (startMs: number, endMs: number) => void;
}

const width = 1000;
const height = 100;
const top = 18;
const bottom = 14;

/** Lines per step, stacked by level; drag across it to zoom into that time. */
export function VolumeHistogram({ series, startMs, endMs, stepSeconds, onBrush }: Props) {
  const zone = useTimeZone();
  const svg = useRef<SVGSVGElement>(null);
  const [brush, setBrush] = useState<{ from: number; to: number } | undefined>();
  const span = Math.max(endMs - startMs, 1);
  const x = (ms: number) => ((ms - startMs) / span) * width;
  const stepMs = stepSeconds * 1000;

  const buckets = new Map<number, Map<string, number>>();
  for (const { level, points } of series) {
    for (const [seconds, count] of points) {
      // A count_over_time point at t covers (t - step, t].
      const bucket = seconds * 1000 - stepMs;
      const levels = buckets.get(bucket) ?? new Map<string, number>();
      levels.set(level, (levels.get(level) ?? 0) + count);
      buckets.set(bucket, levels);
    }
  }
  const max = Math.max(1, ...[...buckets.values()].map((levels) => [...levels.values()].reduce((a, b) => a + b, 0)));
  const levels = [...new Set(series.map((s) => s.level))].sort((a, b) => levelOrder.indexOf(a) - levelOrder.indexOf(b));
  const barWidth = Math.max((stepMs / span) * width - 1, 1);
  const plot = height - top - bottom;

  const toMs = (clientX: number) => {
    const rect = svg.current!.getBoundingClientRect();
    const fraction = Math.min(Math.max((clientX - rect.left) / rect.width, 0), 1);
    return startMs + fraction * span;
  };
  const onDown = (event: MouseEvent) => {
    const at = toMs(event.clientX);
    setBrush({ from: at, to: at });
    const move = (moveEvent: MouseEvent) => setBrush({ from: at, to: toMs(moveEvent.clientX) });
    const up = (upEvent: MouseEvent) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      const end = toMs(upEvent.clientX);
      setBrush(undefined);
      const [a, b] = at < end ? [at, end] : [end, at];
      // A click is not a brush: at least a pixel-wide selection.
      if (((b - a) / span) * svg.current!.getBoundingClientRect().width >= 3) onBrush(Math.floor(a), Math.ceil(b));
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => startMs + fraction * span);
  return (
    <div class="histogram" aria-label="log volume by level; drag to zoom">
      <svg
        ref={svg}
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        onMouseDown={onDown}
        role="img"
        aria-label="log volume histogram"
      >
        {[...buckets].map(([bucket, counts]) => {
          let y = height - bottom;
          return levels.map((level) => {
            const count = counts.get(level) ?? 0;
            if (count === 0) return null;
            const h = (count / max) * plot;
            y -= h;
            return (
              <rect key={`${bucket}-${level}`} x={x(bucket)} y={y} width={barWidth} height={h} fill={levelColor(level)}>
                <title>{`${formatTime(bucket, zone, false)} ${level || 'unknown'}: ${count}`}</title>
              </rect>
            );
          });
        })}
        {ticks.map((ms, index) => (
          <text
            key={ms}
            class="axis"
            x={Math.min(Math.max(x(ms), 2), width - 2)}
            y={height - 2}
            text-anchor={index === 0 ? 'start' : index === ticks.length - 1 ? 'end' : 'middle'}
          >
            {formatTime(ms, zone, false).slice(5, 16)}
          </text>
        ))}
        {brush && (
          <rect
            class="brush"
            x={x(Math.min(brush.from, brush.to))}
            y={0}
            width={Math.abs(x(brush.to) - x(brush.from))}
            height={height - bottom}
          />
        )}
      </svg>
      <div class="legend">
        {levels.map((level) => (
          <span key={level}>
            <i style={{ background: levelColor(level) }} />
            {level || 'unknown'}
          </span>
        ))}
        <span>max {max}/bar</span>
      </div>
    </div>
  );
}
