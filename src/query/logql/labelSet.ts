import { tenantLabel, type LogRow } from './compiler.js';
import { labelNameOf } from './labelName.js';
import { meshSelectorLabels } from './meshLabels.js';
import type { Entry } from './pipeline.js';

const nameCache = new Map<string, string>();

function cachedLabelName(key: string): string {
  let name = nameCache.get(key);
  if (name === undefined) {
    name = labelNameOf(key);
    if (nameCache.size < 100_000) nameCache.set(key, name);
  }
  return name;
}

/**
 * Stream labels of a row: service_name, detected_level and resource attributes under Loki 3's names,
 * and in a multi-tenant query the row's tenant as `__tenant_id__` (which, as in Loki, replaces any other).
 */
export function streamLabels(row: Pick<LogRow, 'service_name' | 'level' | 'resource_attributes' | 'tenant_id'>): Map<string, string> {
  const labels = new Map<string, string>();
  for (const [key, value] of Object.entries(row.resource_attributes)) if (value !== '') labels.set(cachedLabelName(key), value);
  if (row.service_name !== '') labels.set('service_name', row.service_name);
  if (row.level !== '') labels.set('detected_level', row.level);
  if (row.tenant_id !== undefined) labels.set(tenantLabel, row.tenant_id);
  return labels;
}

/** What a stream selector run outside SQL matches against: stream labels and the selectable mesh labels (as compiler.ts's labelSql). */
export function selectorLabels(
  row: Pick<LogRow, 'service_name' | 'level' | 'resource_attributes' | 'mesh_labels' | 'tenant_id'>,
): Map<string, string> {
  const labels = streamLabels(row);
  for (const [name, value] of Object.entries(row.mesh_labels))
    if (meshSelectorLabels.has(name) && !labels.has(name)) labels.set(name, value);
  return labels;
}

/** Stream labels plus structured metadata (mesh columns, log attributes, trace_id, span_id): what a log line carries into its pipeline. */
export function entryLabels(row: LogRow): Map<string, string> {
  return entryOf(row).labels;
}

/** A row as the pipeline's entry, knowing which of its labels are structured metadata. */
export function entryOf(row: LogRow): Entry {
  const labels = streamLabels(row);
  const metadata = new Set<string>();
  const add = (name: string, value: string) => {
    labels.set(name, value);
    metadata.add(name);
  };
  // Mesh columns before log attributes: the order compiler.ts's labelSql reads them in.
  const ingestDerived = new Set<string>();
  for (const [name, value] of Object.entries(row.mesh_labels)) {
    if (labels.has(name)) continue;
    add(name, value);
    ingestDerived.add(name);
  }
  for (const [key, value] of Object.entries(row.log_attributes)) {
    const name = cachedLabelName(key);
    if (value !== '' && !labels.has(name)) add(name, value);
  }
  if (row.trace_id !== '') add('trace_id', row.trace_id);
  if (row.span_id !== '') add('span_id', row.span_id);
  return { timestampNs: row.ts, line: row.body, labels, metadata, ...(ingestDerived.size > 0 ? { ingestDerived } : {}) };
}

/** Stable identity of a label set: sorted `name="value"` pairs, as Loki prints stream labels. */
export function labelsKey(labels: Map<string, string> | Record<string, string>): string {
  const entries = labels instanceof Map ? [...labels] : Object.entries(labels);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(', ')}}`;
}

export function sortedObject(labels: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Prometheus' labels.Compare: label by label in name order, names first, then values; a prefix sorts first. */
export function compareLabels(a: Record<string, string>, b: Record<string, string>): number {
  const left = Object.entries(a).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const right = Object.entries(b).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    for (const j of [0, 1]) {
      if (left[i][j] !== right[i][j]) return left[i][j] < right[i][j] ? -1 : 1;
    }
  }
  return left.length - right.length;
}
