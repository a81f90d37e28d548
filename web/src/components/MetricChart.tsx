import { useState } from 'preact/hooks';
import { seriesName, type MetricSeries } from '../api/loki';
import { useTimeZone } from '../shell/preferences';
import { formatTime } from '../shell/timeFormat';

/** Distinct on both themes; series past the tenth reuse them in order. */
const palette = ['#5aa9ff', '#f2b94b', '#e5534b', '#57ab5a', '#b083f0', '#39c5cf', '#ec775c', '#d2a8ff', '#8ddb8c', '#f69d50'];
export const seriesColor = (index: number) => palette[index % palette.length];

const width = 1000;
const height = 260;
const left = 52;
const right = 8;
const top = 10;
const bottom = 22;

/** 0, 2.5, 10, 1.2k: short axis numbers. */
function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(abs < 10 ? 2 : 1)}`;
}

/**
 * A metric query's result as lines over time, one per series, with a legend
 * naming each by its labels (click one to show it alone, as Grafana does).
 * A step without a point is a gap, not zero.
 */
export function MetricChart({
  series,
  startMs,
  endMs,
  stepSeconds,
}: {
  series: MetricSeries[];
  startMs: number;
  endMs: number;
  stepSeconds: number;
}) {
  const zone = useTimeZone();
  const [only, setOnly] = useState<number | undefined>();
  if (series.length === 0) return <p class="empty chart-empty">No series: the query matched nothing in this range.</p>;
  const shown = series.map((one, index) => ({ one, index })).filter(({ index }) => only === undefined || only === index);
  const values = shown.flatMap(({ one }) => one.points.map(([, value]) => value)).filter(Number.isFinite);
  const max = Math.max(0, ...values);
  const min = Math.min(0, ...values);
  const range = max - min || 1;
  const span = Math.max(endMs - startMs, 1);
  const x = (ms: number) => left + ((ms - startMs) / span) * (width - left - right);
  const y = (value: number) => top + (1 - (value - min) / range) * (height - top - bottom);
  const gapMs = stepSeconds * 1000 * 1.5;

  const path = (points: [number, number][]) => {
    let d = '';
    let previous: number | undefined;
    for (const [ms, value] of points) {
      if (!Number.isFinite(value)) continue;
      d += `${previous === undefined || ms - previous > gapMs ? 'M' : 'L'}${x(ms).toFixed(1)},${y(value).toFixed(1)}`;
      previous = ms;
    }
    return d;
  };
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => min + fraction * range);
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => startMs + fraction * span);

  return (
    <div class="metric-chart">
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label="metric graph">
        {yTicks.map((value) => (
          <g key={value}>
            <line class="grid-line" x1={left} x2={width - right} y1={y(value)} y2={y(value)} />
            <text class="axis" x={left - 4} y={y(value) + 4} text-anchor="end">
              {shortNumber(value)}
            </text>
          </g>
        ))}
        {xTicks.map((ms, index) => (
          <text
            key={ms}
            class="axis"
            x={x(ms)}
            y={height - 6}
            text-anchor={index === 0 ? 'start' : index === xTicks.length - 1 ? 'end' : 'middle'}
          >
            {formatTime(ms, zone, false).slice(5, 16)}
          </text>
        ))}
        {shown.map(({ one, index }) => (
          <path key={index} class="series" d={path(one.points)} stroke={seriesColor(index)} fill="none" vector-effect="non-scaling-stroke">
            <title>{seriesName(one.labels)}</title>
          </path>
        ))}
      </svg>
      <ul class="series-legend" aria-label="series">
        {series.map((one, index) => {
          const last = one.points[one.points.length - 1];
          return (
            <li key={index}>
              <button
                type="button"
                class={only !== undefined && only !== index ? 'hidden-series' : ''}
                aria-pressed={only === index}
                onClick={() => setOnly(only === index ? undefined : index)}
              >
                <i style={{ background: seriesColor(index) }} />
                <span class="mono">{seriesName(one.labels)}</span>
                {last && <span class="dim"> last {shortNumber(last[1])}</span>}
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
