import { useState } from 'preact/hooks';
import { Link } from '../../shell/Link';
import type { PageProps } from '../../shell/page';
import { useTimeZone } from '../../shell/preferences';
import { useQueryState } from '../../shell/router';
import { formatTime } from '../../shell/timeFormat';
import { PinDialog, type PinTarget } from '../incidents/PinDialog';
import { useApi } from '../panels/useApi';
import '../panels/panels.css';
import type { Pattern, PatternsResponse } from '@api/patterns';

/**
 * Explore over the service's lines that contain the template's longest fixed
 * part, over the last day: first and last seen are when lines were mined,
 * not their own timestamps, so they cannot bound the range.
 */
function exploreLink(pattern: Pattern): string {
  const fixed = pattern.template
    .split('<*>')
    .map((part) => part.trim())
    .sort((a, b) => b.length - a.length)[0];
  const query = `{service_name=${JSON.stringify(pattern.service_name)}}${fixed ? ` |= ${JSON.stringify(fixed)}` : ''}`;
  return `/ui/explore?${new URLSearchParams({ q: query, from: 'now-24h', to: 'now' })}`;
}

function PatternTable({ label, patterns }: { label: string; patterns: Pattern[] | undefined }) {
  const zone = useTimeZone();
  const [pinning, setPinning] = useState<PinTarget | undefined>();
  if (!patterns) return <p class="dim">Loading…</p>;
  if (patterns.length === 0) return <p class="empty">None.</p>;
  const most = Math.max(1, ...patterns.map((pattern) => pattern.count));
  return (
    <>
      <table class="grid" aria-label={label}>
        <thead>
          <tr>
            <th>Count</th>
            <th />
            <th>Service</th>
            <th>Pattern</th>
            <th>First seen</th>
            <th>Last seen</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {patterns.map((pattern) => (
            <tr key={`${pattern.service_name}/${pattern.pattern_id}`}>
              <td>{pattern.count.toLocaleString('en')}</td>
              <td style={{ width: '90px' }}>
                <div class="bar-track" aria-hidden="true">
                  <i style={{ width: `${(pattern.count / most) * 100}%` }} />
                </div>
              </td>
              <td>{pattern.service_name}</td>
              <td class="mono">
                <Link href={exploreLink(pattern)} title="show these lines in Explore">
                  {pattern.template}
                </Link>
              </td>
              <td>{formatTime(Date.parse(pattern.first_seen), zone, false)}</td>
              <td>{formatTime(Date.parse(pattern.last_seen), zone, false)}</td>
              <td>
                <button
                  type="button"
                  class="small"
                  title="pin this pattern to an incident"
                  onClick={() => setPinning({ kind: 'pattern', service: pattern.service_name, pattern: pattern.template })}
                >
                  Pin
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {pinning && <PinDialog target={pinning} onClose={() => setPinning(undefined)} />}
    </>
  );
}

/** Mined log patterns: the most frequent templates, and the ones first seen since yesterday. */
export function PatternsPage(_props: PageProps) {
  const [params, setParams] = useQueryState();
  const service = params.get('service') ?? '';
  const [draft, setDraft] = useState(service);
  const top = useApi<PatternsResponse>('/api/v1/patterns', { service: service || undefined, limit: 50 });
  const fresh = useApi<PatternsResponse>('/api/v1/patterns', { service: service || undefined, new_since: '24h', limit: 50 });
  return (
    <div class="panels">
      <header>
        <h1>Patterns</h1>
        <form
          class="inline"
          onSubmit={(event) => {
            event.preventDefault();
            setParams({ service: draft.trim() });
          }}
        >
          <input value={draft} onInput={(e) => setDraft(e.currentTarget.value)} placeholder="every service" aria-label="service" />
          <button type="submit">Filter</button>
        </form>
      </header>
      {(top.error || fresh.error) && <p class="error">{top.error ?? fresh.error}</p>}
      <section class="panel" aria-label="new patterns">
        <h2>New since yesterday</h2>
        <PatternTable label="new patterns" patterns={fresh.data?.patterns} />
      </section>
      <section class="panel" aria-label="top patterns">
        <h2>Top patterns</h2>
        <PatternTable label="top patterns" patterns={top.data?.patterns} />
      </section>
    </div>
  );
}
