import { MeshlogError } from '../../errors.js';
import type { LogRecord } from '../../model/logRecord.js';
import { detectedLevelOf } from '../../model/severity.js';
import type { LogRow } from '../logql/compiler.js';
import type { QueryMasking } from '../logql/queryContext.js';
import { entryOf, selectorLabels } from '../logql/labelSet.js';
import { meshLabelsOf } from '../logql/meshLabels.js';
import { parseLogql } from '../logql/parser.js';
import { compilePipeline, labelValue, matcherFn, type Entry } from '../logql/pipeline.js';

/** A committed line as a tail subscriber receives it, knowing which labels are structured metadata and which parsed. */
export type TailLine = Pick<Entry, 'timestampNs' | 'line' | 'labels' | 'parsed' | 'metadata'>;

export type TailFilter = (record: LogRecord) => TailLine | undefined;

/** A record in the shape a stored row is read as, so tail lines get the labels queries give them (`__tenant_id__` in a multi-tenant tail). */
function rowOf(record: LogRecord, multiTenant: boolean): LogRow {
  return {
    ...(multiTenant ? { tenant_id: record.tenant } : {}),
    ts: record.timeUnixNano.toString(),
    body: record.body,
    service_name: record.serviceName,
    level: detectedLevelOf(record.severityText, record.severityNumber),
    resource_attributes: record.resource,
    log_attributes: record.attributes,
    trace_id: record.traceId,
    span_id: record.spanId,
    mesh_labels: meshLabelsOf(record.mesh),
  };
}

/**
 * A LogQL log query run over committed records in memory, with the query
 * engine's own pipeline: stream selector, then line filters, parsers,
 * label filters and line_format. Metric queries cannot be tailed.
 */
export function compileTailFilter(query: string, masking?: QueryMasking, multiTenant = false): TailFilter {
  const expr = parseLogql(query);
  if (expr.kind !== 'log') throw new MeshlogError('ML_QUERY_INVALID', 'only log queries can be tailed');
  const matchers = expr.selector.map((matcher) => ({ name: matcher.name, matches: matcherFn(matcher) }));
  const pipeline = compilePipeline(expr.stages);
  return (record) => {
    const row = rowOf(record, multiTenant);
    const entry = entryOf(row);
    if (masking) {
      // A reader who may not unmask: the selector and every stage over the masked entry only
      // (a selector on stored labels first would drop what `user_id!="<secret>"` keeps masked).
      masking.maskEntry(entry);
      for (const matcher of matchers) if (!matcher.matches(labelValue(entry.labels, matcher.name) ?? '')) return undefined;
    } else {
      const stream = selectorLabels(row);
      for (const matcher of matchers) if (!matcher.matches(labelValue(stream, matcher.name) ?? '')) return undefined;
    }
    return pipeline(entry) ? entry : undefined;
  };
}
