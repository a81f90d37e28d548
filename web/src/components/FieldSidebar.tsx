import { useMemo } from 'preact/hooks';
import type { LogEntry } from '../api/loki';

const topValues = 5;

/** Fields of the loaded lines with their most frequent values; a click filters on that value. */
export function FieldSidebar({ entries, onFilter }: { entries: LogEntry[]; onFilter: (name: string, value: string) => void }) {
  const fields = useMemo(() => {
    const counts = new Map<string, Map<string, number>>();
    for (const entry of entries) {
      for (const [name, value] of Object.entries(entry.labels)) {
        let values = counts.get(name);
        if (!values) counts.set(name, (values = new Map()));
        values.set(value, (values.get(value) ?? 0) + 1);
      }
    }
    return [...counts]
      .map(([name, values]) => ({
        name,
        present: [...values.values()].reduce((a, b) => a + b, 0),
        distinct: values.size,
        top: [...values].sort((a, b) => b[1] - a[1]).slice(0, topValues),
      }))
      .sort((a, b) => b.present - a.present || (a.name < b.name ? -1 : 1));
  }, [entries]);

  return (
    <aside class="sidebar" aria-label="fields">
      <h3>Fields</h3>
      {fields.length === 0 && <p class="dim">Run a query to see its fields.</p>}
      {fields.map((field) => (
        <details class="field" key={field.name} open={field.distinct <= 20 && fields.indexOf(field) < 6}>
          <summary>
            {field.name} <span class="dim">({field.distinct})</span>
          </summary>
          <ul>
            {field.top.map(([value, count]) => (
              <li key={value}>
                <button type="button" onClick={() => onFilter(field.name, value)} title={`add ${field.name}="${value}" to the query`}>
                  <span class="value mono">{value}</span>
                  <span class="dim">{Math.round((count / entries.length) * 100)}%</span>
                </button>
              </li>
            ))}
          </ul>
        </details>
      ))}
    </aside>
  );
}
